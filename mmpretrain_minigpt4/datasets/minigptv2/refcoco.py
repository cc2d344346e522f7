"""RefCOCO / RefCOCO+ / RefCOCOg training refs (``refs(unc).p`` + ``instances.json``),
for ``[refer]`` and the inverse ``[identify]``."""
from typing import Dict, List, Optional, Tuple

from mmpretrain.registry import DATASETS

from ..annotation_files import (AnnotationFileError, expect_entries, expect_fields, expect_type,
                                json_path, load_json)
from .plain_pickle import load_plain_pickle
from .region_reference_dataset import RegionReferenceDataset, expect_box

TRAIN_SPLIT = 'train'  # the official datasets train on these refs only
REF_FIELDS = ('ref_id', 'ann_id', 'image_id', 'split', 'sentences')


@DATASETS.register_module()
class ReferCOCODataset(RegionReferenceDataset):
    """RefCOCO, RefCOCO+ or RefCOCOg referring expressions -> their box
    (official ``ReferCOCODataset``: ``refcoco``, ``refcocop``, ``refcocog``).

    One sample per ref of the ``'train'`` split; each time it is loaded, one of
    its sentences (``raw``) and one of the 7 ``[refer]`` instructions are
    drawn (see :class:`RegionReferenceDataset`). The box is the ref's
    annotation in ``instances.json`` (COCO ``[x, y, w, h]``), written on the
    0-100 grid of the image as decoded.

    Layout (the official README's), under ``data_root``::

        coco/images/COCO_train2014_{image_id:012}.jpg
        refcoco_annotations/refcoco/refs(unc).p      # refcoco+: refs(unc).p
        refcoco_annotations/refcoco/instances.json   # refcocog: refs(umd).p

    ``refs(*).p`` is a pickle of a list of refs ``{"ref_id", "ann_id",
    "image_id", "split", "sentences": [{"raw", ...}, ...], ...}``; it is read
    without allowing any global, so it cannot run code.
    ``instances.json`` holds ``{"annotations": [{"id", "bbox"}, ...], ...}``.

    A sample: ``instruction`` e.g. ``'[refer] where is the cat, on the left ?'``
    (the sentence through ``blip_caption``), ``answer`` e.g.
    ``'{<25><18><62><66>}'``, plus ``img``, ``image_id``, ``img_path``,
    ``ori_shape``, ``ref_id``.

    Args:
        data_root (str): The MiniGPT-v2 data folder.
        ann_file (str): The refs pickle. Defaults to
            'refcoco_annotations/refcoco/refs(unc).p' (RefCOCO+:
            'refcoco_annotations/refcoco+/refs(unc).p', RefCOCOg:
            'refcoco_annotations/refcocog/refs(umd).p').
        instances_file (str): The boxes. Defaults to
            'refcoco_annotations/refcoco/instances.json' (the same folder as
            ``ann_file`` for the others).
        data_prefix (dict): COCO 2014 training images. Defaults to
            ``dict(img_path='coco/images')``.
        pipeline (Sequence[dict]): Transforms. Defaults to ().
        on_bad_sample (str): ``'error'`` or ``'skip'``, see
            :class:`~mmpretrain_minigpt4.datasets.ImageTextDataset`. Defaults to
            'error'.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments.

    Raises:
        FileNotFoundError: If an annotation file is missing.
        AnnotationFileError: When the annotations are loaded, if a file is
            empty, not a plain-data pickle / not JSON, a ref or annotation lacks
            a field or has a wrong type, a ref's ``ann_id`` is not in
            ``instances.json``, or no ref is in the train split.
        BadSampleError: When a sample is loaded, if its image is missing or
            unreadable, its box is not inside the image, or its sentence is
            empty after ``blip_caption``.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str = 'refcoco_annotations/refcoco/refs(unc).p',
                 instances_file: str = 'refcoco_annotations/refcoco/instances.json',
                 data_prefix: Optional[dict] = None,
                 pipeline=(),
                 on_bad_sample: str = 'error',
                 **kwargs):
        self.instances_file = instances_file
        super().__init__(
            ann_file=ann_file, data_root=data_root,
            data_prefix=data_prefix or dict(img_path='coco/images'),
            pipeline=pipeline, on_bad_sample=on_bad_sample, **kwargs)

    def load_data_list(self) -> List[dict]:
        refs_file = self.require_file(self.ann_file, 'RefCOCO refs file')
        instances_file = self.require_file(self.join_data_root(self.instances_file),
                                           'RefCOCO instances file')
        refs = expect_type(load_plain_pickle(refs_file), list, refs_file, '', 'a list of refs')
        annotations = self._annotations(instances_file)
        data_list = []
        for position, ref in enumerate(refs):
            expect_fields(ref, REF_FIELDS, refs_file, json_path(position))
            if ref['split'] != TRAIN_SPLIT:
                continue
            image_id = expect_type(ref['image_id'], (int, str), refs_file,
                                   json_path(position, 'image_id'), 'an integer')
            if ref['ann_id'] not in annotations:
                raise AnnotationFileError(refs_file, f"ann_id {ref['ann_id']!r} is not an "
                                          f'annotation of {instances_file}',
                                          json_path(position, 'ann_id'))
            ann_position, bbox = annotations[ref['ann_id']]
            data_list.append(dict(
                image_id=image_id,
                img_path=self.image_path(f'COCO_train2014_{image_id:0>12}.jpg'),
                expressions=self._sentences(ref['sentences'], refs_file, position),
                bbox=expect_box(bbox, instances_file,
                                json_path('annotations', ann_position, 'bbox'),
                                'a COCO box [x, y, w, h]'),
                ref_id=ref['ref_id'],
                key=f"ref_id {ref['ref_id']!r}"))
        return expect_entries(data_list, refs_file, f'refs of the {TRAIN_SPLIT!r} split')

    @staticmethod
    def _annotations(path: str) -> Dict[object, Tuple[int, object]]:
        """``{annotation id: (position, bbox)}`` of ``instances.json`` (boxes are
        checked when a train ref uses them)."""
        instances = expect_fields(load_json(path), ('annotations', ), path, '')
        entries = expect_type(instances['annotations'], list, path, 'annotations', 'a list')
        annotations = {}
        for position, entry in enumerate(entries):
            expect_fields(entry, ('id', 'bbox'), path, json_path('annotations', position))
            annotations[entry['id']] = (position, entry['bbox'])
        return annotations

    @staticmethod
    def _sentences(sentences: object, path: str, position: int) -> List[str]:
        """The raw sentences of a ref."""
        where = json_path(position, 'sentences')
        expect_type(sentences, list, path, where, 'a list of sentences')
        if not sentences:
            raise AnnotationFileError(path, 'no sentences', where)
        raw = []
        for index, sentence in enumerate(sentences):
            expect_fields(sentence, ('raw', ), path, json_path(position, 'sentences', index))
            raw.append(expect_type(sentence['raw'], str, path,
                                   json_path(position, 'sentences', index, 'raw'), 'a string'))
        return raw


@DATASETS.register_module()
class InvReferCOCODataset(ReferCOCODataset):
    """The inverse of :class:`ReferCOCODataset`: a box -> its referring expression
    (official ``InvReferCOCODataset``: ``invrefcoco``, ``invrefcocop``,
    ``invrefcocog``). Same files and arguments.

    A sample: ``instruction`` e.g. ``'[identify] what is it in {<25><18><62><66>}'``
    (one of 7), ``answer`` the drawn sentence through ``blip_caption``, e.g.
    ``'the cat, on the left'``.
    """

    task = 'identify'
