"""VSR from its released JSON-lines files (``{"image", "caption", "label", ...}`` per line)."""
import json
from typing import List

import mmengine
from mmpretrain.datasets import VSR
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class OfficialVSR(VSR):
    """Visual Spatial Reasoning read from the released splits (e.g.
    ``zeroshot/test.jsonl`` of cambridgeltl/visual-spatial-reasoning: one
    ``{"image": "000000085637.jpg", "caption": "The umbrella is under the bed.",
    "label": 0, "relation": "under", ...}`` per line); images are
    ``<data_prefix>/<image>`` (COCO 2017 images).

    mmpretrain's ``VSR`` reads only a converted list
    (``[{"image", "question", "answer": bool}]``); that format is accepted
    too. The caption becomes ``question``, the label ``gt_answer``
    ('yes' for 1, 'no' for 0), as in mmpretrain.

    Args:
        data_root (str): Root of ``data_prefix`` and ``ann_file``.
        data_prefix (str): The image folder.
        ann_file (str): A ``.jsonl`` split (or mmpretrain's ``.json`` list).
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    def load_data_list(self) -> List[dict]:
        if not self.ann_file.endswith('.jsonl'):
            return super().load_data_list()
        with open(self.ann_file, encoding='utf-8') as f:
            rows = [(number, json.loads(line)) for number, line in enumerate(f, 1) if line.strip()]
        data_list = []
        for number, row in rows:
            if row.get('label') not in (0, 1) or 'caption' not in row or 'image' not in row:
                raise ValueError(f'{self.ann_file}:{number}: expected "image", "caption" and a '
                                 f'0/1 "label", got keys {sorted(row)} label={row.get("label")!r}.')
            data_list.append(dict(
                img_path=mmengine.join_path(self.data_prefix['img_path'], row['image']),
                image_id=row['image'],
                question=row['caption'],
                gt_answer='yes' if row['label'] == 1 else 'no',
                relation=row.get('relation')))
        return data_list
