"""MiniGPT-v2 stage-3 LLaVA, multi-task conversation and text-only training sets
(official files -> single-turn samples, ``[question, answer]`` conversations, text-only
instructions).

The mini data (tests/data/minigptv2_train) is laid out as the official README
lays out the data folder; the expected strings below are written by hand with
the official rules.
"""
import numpy as np
import pytest
from mmpretrain.registry import DATASETS
from PIL import Image

from minigpt4_mini_data import dataset_test_env, mmengine_log  # noqa: F401
from minigptv2_mini_data import (CAT_FILE, COCO_IMAGES, CUP_FILE, MINI, from_json, load_packed,
                                 write_json)

from mmpretrain_minigpt4.datasets.annotation_files import AnnotationFileError
from mmpretrain_minigpt4.datasets.image_text_dataset import BadSampleError
from mmpretrain_minigpt4.datasets.minigptv2 import (LlavaConversationDataset, LlavaDetailDataset,
                                                    LlavaReasonDataset,
                                                    MultitaskConversationDataset,
                                                    UnnaturalInstructionDataset)

pytestmark = pytest.mark.usefixtures('dataset_test_env')

IMAGES = dict(img_path=COCO_IMAGES)


def turns(*values):
    """LLaVA turns, human first."""
    return [dict(zip(('from', 'value'), (('human', 'gpt')[i % 2], value)))
            for i, value in enumerate(values)]


def test_llava_detail_first_question_is_cleaned_and_the_answer_kept():
    dataset = LlavaDetailDataset(data_root=MINI)
    samples = [dataset[idx] for idx in range(len(dataset))]
    # 'Describe the following image.\n<image>': '<image>' and '\n' removed, then blip_caption.
    assert [(sample['instruction'], sample['answer']) for sample in samples] == [
        ('describe the following image',
         'The image shows an orange tabby cat with its eyes half closed. Its fur has darker '
         'stripes, and the background is dark.'),
        ('what do you see happening in this image?',
         'A cup of coffee with a light foam sits on a saucer, with a spoon beside it.')]
    assert [sample['image_id'] for sample in samples] == ['000000100011', '000000100012']
    assert samples[0]['img_path'] == CAT_FILE
    rgb = np.asarray(Image.open(CAT_FILE).convert('RGB'))
    np.testing.assert_array_equal(samples[0]['img'], rgb[..., ::-1])
    assert samples[0]['ori_shape'] == samples[0]['img_shape'] == (106, 160)
    assert 'conversation' not in samples[0]


def test_llava_reason_sample():
    dataset = LlavaReasonDataset(data_root=MINI)
    assert len(dataset) == 1
    sample = dataset[0]
    assert sample['instruction'] == 'why might someone order this drink in the morning?'
    assert sample['answer'] == ('The cup holds coffee, whose caffeine helps people wake up; '
                                'that is why many drink it at breakfast.')
    assert sample['img_path'] == CUP_FILE


def test_single_turn_datasets_use_the_first_two_turns_only(tmp_path):
    write_json(tmp_path / 'llava/detail_23k.json', [dict(id='000000100011', conversations=turns(
        '<image>\nWhat is it?', 'A cat.', 'And its color?', 'Orange.'))])
    sample = LlavaDetailDataset(data_root=str(tmp_path), data_prefix=IMAGES)[0]
    assert (sample['instruction'], sample['answer']) == ('what is it?', 'A cat.')


def test_llava_conversation_pairs_questions_with_answers():
    dataset = LlavaConversationDataset(data_root=MINI)
    samples = [dataset[idx] for idx in range(len(dataset))]
    # The first question without '<image>', '\n' or a trailing space (the model adds
    # the image prompt and the template); the rest verbatim, none through blip_caption.
    assert samples[0]['conversation'] == [
        ['What color is the cat?', 'The cat is orange, with darker stripes.'],
        ['Is the cat awake?', 'Its eyes are half closed, so it seems to be dozing.'],
        ['Where could the cat be?', 'It is probably indoors, as the background is dark and plain.'],
    ]
    assert samples[1]['conversation'] == [['What is in the cup?',
                                           'Coffee, with a light foam on top.']]
    assert samples[0]['img_path'] == CAT_FILE
    assert samples[0]['image_id'] == '000000100011'
    assert 'instruction' not in samples[0] and 'answer' not in samples[0]


def test_multitask_conversation_sample():
    dataset = MultitaskConversationDataset(data_root=MINI)
    assert len(dataset) == 1
    sample = dataset[0]
    assert sample['conversation'] == [
        ['[grounding] describe this image in detail',
         '<p>A cup of coffee</p> {<6><50><46><87>} sits on <p>a saucer</p> {<0><45><60><95>}.'],
        ['[refer] where is the cup of coffee?', '{<6><50><46><87>}'],
        ['[vqa] Is there a spoon?', 'Yes'],
    ]
    assert sample['img_path'] == CUP_FILE
    assert sample['ori_shape'] == (107, 160)


def test_follow_up_questions_are_kept_verbatim(tmp_path):
    """Only the first question loses '<image>' and newlines, as officially."""
    sample = from_json(LlavaConversationDataset, tmp_path, [dict(
        id='000000100012', conversations=turns('  <image>\nWhat is\nthis?  ', 'A cup.',
                                               'Why\n<image>?', 'Because.'))],
        data_prefix=IMAGES)[0]
    assert sample['conversation'] == [['What isthis?', 'A cup.'], ['Why\n<image>?', 'Because.']]


def test_integer_id_is_zero_padded(tmp_path):
    dataset = from_json(LlavaConversationDataset, tmp_path,
                        [dict(id=100011, conversations=turns('<image>\nHi?', 'Hi.'))],
                        data_prefix=IMAGES)
    assert dataset[0]['img_path'] == CAT_FILE


def test_pipeline_packs_the_conversation():
    inputs, sample = load_packed(
        dict(type='LlavaConversationDataset', data_root=MINI), 1, 448,
        pack=dict(type='PackInputs', algorithm_keys=['conversation'],
                  meta_keys=['image_id', 'img_path']))
    assert inputs.shape == (3, 448, 448)
    assert sample.conversation == [['What is in the cup?', 'Coffee, with a light foam on top.']]
    assert sample.image_id == '000000100012'
    assert sample.img_path == CUP_FILE


def test_unnatural_instructions_are_text_only_and_cleaned():
    dataset = UnnaturalInstructionDataset(data_root=MINI)
    samples = [dataset[idx] for idx in range(len(dataset))]
    # The first instance of each entry; instruction_with_input + ' ' + constraints (unless
    # null), both texts through blip_caption (so the long answer is cut to 50 words).
    assert [sample['instruction'] for sample in samples] == [
        'you are given a list of numbers output the largest number in the list numbers 3, 17, 5 '
        'the output should be one of the numbers in the list',
        'rewrite the sentence in the past tense sentence i walk to school every day',
        'count from one to sixty in words separate the numbers with spaces']
    assert [sample['answer'] for sample in samples[:2]] == ['17', 'i walked to school every day']
    words = samples[2]['answer'].split(' ')
    assert len(words) == 50 and words[:2] == ['one', 'two'] and words[-1] == 'fifty'
    for sample in samples:
        assert not {'img', 'img_path', 'image_id', 'ori_shape'} & sample.keys()


def test_unnatural_instructions_pack_without_inputs():
    dataset = DATASETS.build(dict(
        type='UnnaturalInstructionDataset', data_root=MINI,
        pipeline=[dict(type='PackInputs', algorithm_keys=['instruction', 'answer'],
                       meta_keys=['image_id', 'img_path'])]))
    packed = dataset[0]
    assert 'inputs' not in packed
    assert packed['data_samples'].answer == '17'
    assert 'image_id' not in packed['data_samples']


def test_text_only_dataset_takes_no_image_folder():
    with pytest.raises(TypeError, match='UnnaturalInstructionDataset has no images; it takes no '
                                        'data_prefix'):
        UnnaturalInstructionDataset(data_root=MINI, data_prefix=dict(img_path='images'))


INSTANCE = dict(instruction_with_input='Add 2 and 3.', constraints=None, output='5')
# (dataset, file content, message)
BAD_FILES = {
    'empty file': (LlavaDetailDataset, '', r'a\.json:1:1: invalid JSON: Expecting value'),
    'no conversation': (LlavaConversationDataset, [],
                        r'a\.json: no conversations: the dataset would be empty'),
    'not a list': (MultitaskConversationDataset, {'id': '1'},
                   r'a\.json: expected a list of conversations, got dict'),
    'missing conversations': (LlavaDetailDataset, [dict(id='1', image='1.jpg')],
                              r'a\.json: \[0\]: missing field "conversations" \(has "id", '
                              r'"image"\)'),
    'id not a string': (LlavaReasonDataset, [dict(id=['1'], conversations=turns('Q', 'A'))],
                        r'a\.json: \[0\]\.id: expected a string or an integer, got list'),
    'one turn': (LlavaDetailDataset, [dict(id='1', conversations=turns('Q'))],
                 r'a\.json: \[0\]\.conversations: expected at least 2 turns \(human first, then '
                 r'alternating\), got 1'),
    'question without its answer': (
        LlavaConversationDataset, [dict(id='1', conversations=turns('Q', 'A', 'Q2'))],
        r'a\.json: \[0\]\.conversations: expected an even number of turns \(human first, then '
        r'alternating\), got 3'),
    'turn without value': (LlavaConversationDataset,
                           [dict(id='1', conversations=[dict(value='Q'), dict(speaker='gpt')])],
                           r'a\.json: \[0\]\.conversations\[1\]: missing field "value" \(has '
                           r'"speaker"\)'),
    'value not a string': (MultitaskConversationDataset,
                           [dict(id='1', conversations=turns('Q', 'A', 'Q2', None))],
                           r'a\.json: \[0\]\.conversations\[3\]\.value: expected a string, got '
                           r'NoneType'),
    'no instances': (UnnaturalInstructionDataset, [dict(instruction='Add.', instances=[])],
                     r'a\.json: \[0\]\.instances: no instances'),
    'instance without constraints': (
        UnnaturalInstructionDataset,
        [dict(instances=[INSTANCE]),
         dict(instances=[dict(instruction_with_input='A', output='B')])],
        r'a\.json: \[1\]\.instances\[0\]: missing field "constraints" \(has '
        r'"instruction_with_input", "output"\)'),
    'constraints not a string': (
        UnnaturalInstructionDataset, [dict(instances=[dict(INSTANCE, constraints=3)])],
        r'a\.json: \[0\]\.instances\[0\]\.constraints: expected a string, got int'),
    'no instruction': (UnnaturalInstructionDataset, [],
                       r'a\.json: no instructions: the dataset would be empty'),
}


@pytest.mark.parametrize('cls, content, message', BAD_FILES.values(), ids=list(BAD_FILES))
def test_bad_annotation_file_names_file_and_entry(tmp_path, cls, content, message):
    with pytest.raises(AnnotationFileError, match=message):
        from_json(cls, tmp_path, content)


def test_missing_annotation_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'LlavaDetailDataset annotation file not found: '
                                                r'.*llava/detail_23k\.json'):
        LlavaDetailDataset(data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError,
                       match=r'annotation file not found: .*unnatural_instructions/'
                             r'filtered_unnatural_instruction\.json'):
        UnnaturalInstructionDataset(data_root=str(tmp_path))


@pytest.mark.parametrize('cls, content, message', [
    (LlavaDetailDataset, turns('<image>\n', 'A cup.'),
     r"question '' is empty after blip_caption$"),
    (LlavaReasonDataset, turns('Why?', ' \n'), r'empty answer$'),
    (LlavaConversationDataset, turns('Why?', 'Because.', '  ', 'So.'), r'empty question$'),
], ids=['detail question', 'reason answer', 'conversation question'])
def test_blank_text_is_a_bad_sample(tmp_path, cls, content, message):
    dataset = from_json(cls, tmp_path, [dict(id='000000100012', conversations=content)],
                        data_prefix=IMAGES)
    with pytest.raises(BadSampleError, match=r'a\.json \(\[0\]\): ' + message):
        dataset[0]


def test_missing_image_is_a_bad_sample(tmp_path):
    conversations = [dict(id='000000100099', conversations=turns('Q?', 'A.')),
                     dict(id='000000100012', conversations=turns('Q?', 'B.'))]
    dataset = from_json(LlavaDetailDataset, tmp_path, conversations, data_prefix=IMAGES)
    with pytest.raises(BadSampleError, match=r'a\.json \(\[0\]\): image file not found: '
                                             r'.*COCO_train2014_000000100099\.jpg$'):
        dataset[0]
    skipping = from_json(LlavaDetailDataset, tmp_path, conversations, data_prefix=IMAGES,
                         on_bad_sample='skip')
    np.random.seed(0)
    with mmengine_log() as log:
        assert skipping[0]['answer'] == 'B.'
    assert skipping.num_skipped == len(log) >= 1
