"""MiniGPT-v2's brief-caption training sets: COCO captions (Karpathy train) and TextCaps.

A sample's ``instruction`` is ``'[caption] '`` and one of the 17 official
brief-caption prompts, drawn per read, e.g. ``'[caption] Briefly describe this
image.'``; its ``answer`` is one caption through ``blip_caption``. Each caption
of the file is a sample of its own, as officially.
"""
import os.path as osp
from typing import Any, List

from mmpretrain.registry import DATASETS

from ..annotation_files import expect_fields, expect_type, json_path
from .image_instruction_dataset import clean_text, draw_instruction
from .json_annotation_dataset import JsonAnnotationDataset, annotation_list, expect_text


class CaptionInstructionDataset(JsonAnnotationDataset):
    """Captions -> ``[caption]`` instructions and the captions.

    Data info after loading: ``instruction``, ``answer``, ``caption`` (as in
    the file), ``image_id``, ``img_path``, ``img``, ``ori_shape``,
    ``img_shape``, ``key``, ``sample_idx``.
    """

    entry_description = 'captions'

    def draw_texts(self, data_info: dict) -> dict:
        return dict(instruction=draw_instruction('caption'),
                    answer=clean_text(data_info['caption'], 'caption'))


@DATASETS.register_module()
class COCOCaptionTrainDataset(CaptionInstructionDataset):
    """COCO captions, LAVIS's ``coco_karpathy_train.json``: ``[{"caption",
    "image": "train2014/COCO_train2014_000000391895.jpg", "image_id"}, ...]``.

    As officially, only the entries whose ``image`` contains ``'train'`` are
    kept (Karpathy's train split also takes images of val2014, which the
    official instructions do not download), and images are looked up by file
    name in one folder.

    Layout::

        {data_root}/coco_captions/annotations/coco_karpathy_train.json
        {data_root}/coco/images/COCO_train2014_{id:012}.jpg

    ``image_id`` is the image's file name without extension.

    Args:
        data_root (str): The MiniGPT-v2 dataset root.
        ann_file (str | Sequence[str]): Defaults to
            'coco_captions/annotations/coco_karpathy_train.json'.
        data_prefix (dict): Defaults to ``dict(img_path='coco/images')``.
        **kwargs: Other :class:`JsonAnnotationDataset` arguments.
    """

    default_ann_file = 'coco_captions/annotations/coco_karpathy_train.json'
    default_img_folder = 'coco/images'
    entry_description = 'captions of train images'

    def parse_annotations(self, content: Any, path: str) -> List[dict]:
        data_list = []
        for where, entry in annotation_list(content, path):
            expect_fields(entry, ('image', 'caption'), path, where)
            image = expect_text(entry['image'], path, f'{where}.image')
            if 'train' not in image:
                continue
            file_name = osp.basename(image)
            data_list.append(dict(
                image_id=osp.splitext(file_name)[0],
                img_path=self.image_path(file_name),
                caption=expect_text(entry['caption'], path, f'{where}.caption'),
                key=where))
        return data_list


@DATASETS.register_module()
class TextCapsTrainDataset(CaptionInstructionDataset):
    """TextCaps' ``TextCaps_0.1_train.json``: ``{"data": [{"image_id":
    "011e7e629fb9ae7b", "caption_str", ...}, ...], ...}``, one entry per caption.

    Layout::

        {data_root}/textcaps/TextCaps_0.1_train.json
        {data_root}/textcaps/train_images/{image_id}.jpg

    Args:
        data_root (str): The MiniGPT-v2 dataset root.
        ann_file (str | Sequence[str]): Defaults to
            'textcaps/TextCaps_0.1_train.json'.
        data_prefix (dict): Defaults to
            ``dict(img_path='textcaps/train_images')``.
        **kwargs: Other :class:`JsonAnnotationDataset` arguments.
    """

    default_ann_file = 'textcaps/TextCaps_0.1_train.json'
    default_img_folder = 'textcaps/train_images'

    def parse_annotations(self, content: Any, path: str) -> List[dict]:
        entries = expect_fields(content, ('data', ), path, '')['data']
        expect_type(entries, list, path, 'data', 'a list')
        data_list = []
        for position, entry in enumerate(entries):
            where = json_path('data', position)
            expect_fields(entry, ('image_id', 'caption_str'), path, where)
            image_id = expect_text(entry['image_id'], path, f'{where}.image_id')
            data_list.append(dict(
                image_id=image_id,
                img_path=self.image_path(f'{image_id}.jpg'),
                caption=expect_text(entry['caption_str'], path, f'{where}.caption_str'),
                key=where))
        return data_list
