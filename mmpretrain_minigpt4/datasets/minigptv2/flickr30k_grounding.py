"""The filtered Flickr30k grounding files of MiniGPT-v2: grounded captions
(``[grounding]``), caption -> phrases with boxes and phrase -> boxes (``[detection]``).

The files hold their boxes as text already (``{<x1><y1><x2><y2>}`` on the 0-100
grid, several joined by ``<delim>``); they are used as they are, after checking
that every box is readable. Texts are not cleaned (the official datasets do
not apply ``blip_caption`` to them).
"""
from typing import List, Optional, Tuple

from mmpretrain.registry import DATASETS

from ...grounding import BOX_GRID, parse_grounded_text
from ..annotation_files import expect_entries, expect_fields, expect_type, json_path, load_json
from ..image_text_dataset import BadSampleError
from .image_instruction_dataset import ImageInstructionDataset, draw_instruction, require_text


def check_box_text(text: str, field: str, only_boxes: bool = False) -> str:
    """``text`` if it has a box and every box is a well-formed grid box.

    Args:
        only_boxes (bool): The text must be boxes only (``{...}<delim>{...}``).

    Raises:
        BadSampleError: Naming ``field`` and the first problem (e.g. a value
            outside the 0-100 grid, reversed corners, a malformed box).
    """
    grounded = parse_grounded_text(text, (BOX_GRID, BOX_GRID))
    if grounded.problems:
        raise BadSampleError(f'{field} {text!r}: {grounded.problems[0]}')
    if not grounded.boxes:
        raise BadSampleError(f'{field} {text!r} has no box')
    if only_boxes and grounded.text:
        raise BadSampleError(f'{field} {text!r} holds more than boxes: {grounded.text!r}')
    return text


class FlickrGroundingDataset(ImageInstructionDataset):
    """The common reading of the three files: a JSON list of ``{"image_id",
    <text fields>}``, images ``{data_prefix}/{image_id}.jpg``.

    Subclasses set :attr:`text_fields`, :attr:`default_ann_file` and
    :meth:`instruction_and_answer`.

    Args:
        data_root (str): The MiniGPT-v2 data folder.
        ann_file (str, optional): Defaults to the subclass's file under
            ``filtered_flickr/``.
        data_prefix (dict): The Flickr30k images. Defaults to
            ``dict(img_path='filtered_flickr/images')``.
        pipeline (Sequence[dict]): Transforms. Defaults to ().
        on_bad_sample (str): ``'error'`` or ``'skip'``, see
            :class:`~mmpretrain_minigpt4.datasets.ImageTextDataset`. Defaults to
            'error'.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments.

    Raises:
        FileNotFoundError: If the annotation file is missing.
        AnnotationFileError: When the annotations are loaded, if the file is not
            JSON, not a non-empty list, or an entry lacks a field or has a wrong
            type.
        BadSampleError: When a sample is loaded, if its image is missing or
            unreadable, a text is empty or a box text is malformed or outside
            the grid.
    """

    text_fields: Tuple[str, ...] = ()
    default_ann_file = ''

    def __init__(self,
                 data_root: str,
                 ann_file: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 pipeline=(),
                 on_bad_sample: str = 'error',
                 **kwargs):
        super().__init__(
            ann_file=ann_file or self.default_ann_file, data_root=data_root,
            data_prefix=data_prefix or dict(img_path='filtered_flickr/images'),
            pipeline=pipeline, on_bad_sample=on_bad_sample, **kwargs)

    def load_data_list(self) -> List[dict]:
        path = self.require_file(self.ann_file, 'Flickr30k annotation file')
        entries = expect_type(load_json(path), list, path, '', 'a list of entries')
        data_list = []
        for position, entry in enumerate(expect_entries(entries, path, 'entries')):
            expect_fields(entry, ('image_id', *self.text_fields), path, json_path(position))
            image_id = expect_type(entry['image_id'], (str, int), path,
                                   json_path(position, 'image_id'), 'a string or an integer')
            texts = {field: expect_type(entry[field], str, path, json_path(position, field),
                                        'a string') for field in self.text_fields}
            data_list.append(dict(
                image_id=image_id, img_path=self.image_path(f'{image_id}.jpg'),
                key=f'{json_path(position)}, image_id {image_id!r}', **texts))
        return data_list


@DATASETS.register_module()
class FlickrGroundedCaptionDataset(FlickrGroundingDataset):
    """Flickr30k images -> a caption marking its phrases with their boxes
    (official ``GroundedDetailDataset``, ``flickr_grounded_caption``).

    File (default ``filtered_flickr/groundedcaption.json``):
    ``[{"image_id": "1000092795", "grounded_caption": "<p>a man</p> {<10><20><45><98>}
    rides ..."}, ...]``.

    A sample: ``instruction`` one of the 4 ``[grounding]`` instructions (e.g.
    ``'[grounding] please describe this image in details'``), ``answer`` the
    grounded caption, plus ``img``, ``image_id``, ``img_path``, ``ori_shape``.
    Arguments: see :class:`FlickrGroundingDataset`.
    """

    text_fields = ('grounded_caption', )
    default_ann_file = 'filtered_flickr/groundedcaption.json'

    def instruction_and_answer(self, data_info: dict,
                               image_size: Tuple[int, int]) -> Tuple[str, str]:
        caption = check_box_text(data_info['grounded_caption'], 'grounded_caption')
        return draw_instruction('grounding'), caption


@DATASETS.register_module()
class FlickrCaptionToPhraseDataset(FlickrGroundingDataset):
    """A caption -> its phrases with their boxes (official
    ``CaptionToObjectDataset``, ``flickr_CaptionToPhrase``).

    File (default ``filtered_flickr/captiontobbox.json``): ``[{"image_id",
    "caption": "a man rides a horse", "output": "<p>a man</p> {<10><20><45><98>}
    <p>a horse</p> {...}"}, ...]``.

    A sample: ``instruction`` ``'[detection] {caption}'``, ``answer`` the
    ``output``, plus ``img``, ``image_id``, ``img_path``, ``ori_shape``.
    Arguments: see :class:`FlickrGroundingDataset`.
    """

    text_fields = ('caption', 'output')
    default_ann_file = 'filtered_flickr/captiontobbox.json'

    def instruction_and_answer(self, data_info: dict,
                               image_size: Tuple[int, int]) -> Tuple[str, str]:
        caption = require_text(data_info['caption'], 'caption')
        output = check_box_text(data_info['output'], 'output')
        return draw_instruction('detection', caption), output


@DATASETS.register_module()
class FlickrObjectToPhraseDataset(FlickrGroundingDataset):
    """A phrase -> its boxes (official ``PhraseToObjectDataset``,
    ``flickr_ObjectToPhrase``).

    File (default ``filtered_flickr/phrasetobbox.json``): ``[{"image_id",
    "phrase": "a flag", "bbox": "{<70><20><80><30>}<delim>{<5><40><15><55>}"},
    ...]``.

    A sample: ``instruction`` ``'[detection] {phrase}'``, ``answer``
    ``'<p>{phrase}</p> {bbox}'``, plus ``img``, ``image_id``, ``img_path``,
    ``ori_shape``. Arguments: see :class:`FlickrGroundingDataset`.
    """

    text_fields = ('phrase', 'bbox')
    default_ann_file = 'filtered_flickr/phrasetobbox.json'

    def instruction_and_answer(self, data_info: dict,
                               image_size: Tuple[int, int]) -> Tuple[str, str]:
        phrase = require_text(data_info['phrase'], 'phrase')
        boxes = check_box_text(data_info['bbox'], 'bbox', only_boxes=True)
        # The file's box text as it is, as officially (not re-formatted).
        return draw_instruction('detection', phrase), f'<p>{phrase}</p> {boxes}'
