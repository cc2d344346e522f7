"""Multi-turn conversations about an image: LLaVA's conversations and MiniGPT-v2's
multi-task conversations."""
from mmpretrain.registry import DATASETS

from .image_instruction_dataset import require_text
from .llava_datasets import LlavaFormatDataset, first_question


@DATASETS.register_module()
class LlavaConversationDataset(LlavaFormatDataset):
    """LLaVA's conversations (``conversation_58k.json``), every turn used.

    A sample's ``conversation`` is a list of ``[question, answer]`` pairs in
    order. The first question is the first turn as :func:`first_question`
    gives it (``'<image>'`` and newlines removed, stripped); the others and
    all answers are the turns as they are (none through ``blip_caption``, as
    officially). The model puts the image prompt before the first question
    and wraps every question in its template; the official's ``'!@#'``-joined
    strings and the trailing space it adds to each question are the model's
    business, not stored here.

    Layout::

        {data_root}/llava/conversation_58k.json
        {data_root}/coco/images/COCO_train2014_{id}.jpg

    Args:
        data_root (str): The MiniGPT-v2 dataset root.
        ann_file (str | Sequence[str]): Defaults to
            'llava/conversation_58k.json'.
        data_prefix (dict): Defaults to ``dict(img_path='coco/images')``.
        **kwargs: Other :class:`JsonAnnotationDataset` arguments.

    Raises:
        AnnotationFileError: Also if a conversation has an odd number of
            turns (a question without its answer).
        BadSampleError: When a sample is loaded, if a question or an answer
            is blank.
    """

    default_ann_file = 'llava/conversation_58k.json'
    whole_conversation = True

    def draw_texts(self, data_info: dict) -> dict:
        turns = data_info['turns']
        questions = [first_question(turns[0])] + turns[2::2]
        return dict(conversation=[[require_text(question, 'question'),
                                   require_text(answer, 'answer')]
                                  for question, answer in zip(questions, turns[1::2])])


@DATASETS.register_module()
class MultitaskConversationDataset(LlavaConversationDataset):
    """MiniGPT-v2's multi-task conversations (``multitask_conversation.json``,
    LLaVA's format about COCO train2014 images); samples as
    :class:`LlavaConversationDataset`.

    Layout (the official README's; its config names the file
    ``multi_task_conversation.json``)::

        {data_root}/multitask_conversation/multitask_conversation.json
        {data_root}/coco/images/COCO_train2014_{id}.jpg

    Args:
        ann_file (str | Sequence[str]): Defaults to
            'multitask_conversation/multitask_conversation.json'.
        data_prefix (dict): Defaults to ``dict(img_path='coco/images')``.
        **kwargs: :class:`LlavaConversationDataset` arguments.
    """

    default_ann_file = 'multitask_conversation/multitask_conversation.json'
