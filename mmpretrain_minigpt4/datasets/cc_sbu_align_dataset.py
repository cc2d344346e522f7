"""Stage-2 ``cc_sbu_align``: ~3,500 detailed image descriptions (``filter_cap.json`` + ``image/``)."""
import os.path as osp
from typing import List, Optional

from mmpretrain.registry import DATASETS

from .annotation_files import expect_entries, expect_fields, expect_type, json_path, load_json
from .image_text_dataset import BadSampleError, ImageTextDataset, check_caption, decode_image


@DATASETS.register_module()
class CCSBUAlignDataset(ImageTextDataset):
    """MiniGPT-4's stage-2 alignment data.

    Layout: ``{data_root}/filter_cap.json`` holding
    ``{"annotations": [{"image_id": "2", "caption": "..."}, ...]}`` and
    ``{data_root}/image/{image_id}.jpg``. Captions are used as they are (the
    official loader does not clean them).

    Data info after loading: ``img`` (H, W, 3) BGR uint8, ``gt_caption``,
    ``image_id``, ``img_path``, ``sample_idx``, ``ori_shape``, ``img_shape``.

    Args:
        data_root (str): The ``cc_sbu_align`` directory.
        ann_file (str): Defaults to 'filter_cap.json'.
        data_prefix (dict): Image folder. Defaults to ``dict(img_path='image')``.
        pipeline (Sequence[dict]): Transforms. Defaults to ().
        on_bad_sample (str): ``'error'`` or ``'skip'``, see
            :class:`ImageTextDataset`. Defaults to 'error'.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments.

    Raises:
        AnnotationFileError: When the annotations are loaded (at build, or at
            ``full_init`` with ``lazy_init``), if ``filter_cap.json`` is not
            JSON, an entry lacks a field, or there is no entry.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str = 'filter_cap.json',
                 data_prefix: Optional[dict] = None,
                 pipeline=(),
                 on_bad_sample: str = 'error',
                 **kwargs):
        super().__init__(
            ann_file=ann_file, data_root=data_root,
            data_prefix=data_prefix or dict(img_path='image'),
            pipeline=pipeline, on_bad_sample=on_bad_sample, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'cc_sbu_align annotation file not found: {self.ann_file} '
                                    '(set `data_root` / `ann_file`).')
        entries = expect_fields(load_json(self.ann_file), ('annotations',), self.ann_file,
                                '')['annotations']
        expect_type(entries, list, self.ann_file, 'annotations', 'a list')
        data_list = []
        for position, entry in enumerate(expect_entries(entries, self.ann_file, 'annotations')):
            expect_fields(entry, ('image_id', 'caption'), self.ann_file,
                          json_path('annotations', position))
            image_id = str(entry['image_id'])
            data_list.append(dict(
                image_id=image_id,
                img_path=osp.join(self.data_prefix['img_path'], f'{image_id}.jpg'),
                gt_caption=entry['caption']))
        return data_list

    def sample_location(self, data_info: dict) -> str:
        return f"{self.ann_file} (image_id {data_info['image_id']!r})"

    def load_sample(self, data_info: dict) -> dict:
        location = self.sample_location(data_info)
        check_caption(data_info['gt_caption'], location)
        img_path = data_info['img_path']
        if not osp.isfile(img_path):
            raise BadSampleError(f'image file not found: {img_path}', location)
        with open(img_path, 'rb') as f:
            img = decode_image(f.read(), f'{img_path} (image_id {data_info["image_id"]!r})')
        return dict(data_info, img=img, ori_shape=img.shape[:2], img_shape=img.shape[:2])
