"""Visual Genome region descriptions as ``[refer]`` data (``region_descriptions.json``
+ ``image_data.json``)."""
from typing import Dict, List, Optional

from mmpretrain.registry import DATASETS

from ..annotation_files import (AnnotationFileError, expect_entries, expect_fields, expect_type,
                                json_path, load_json)
from .region_reference_dataset import RegionReferenceDataset, expect_box

# Following OFA, the official dataset keeps regions of width * height < 16384 pixels.
MAX_REGION_AREA = 16384
REGION_FIELDS = ('phrase', 'x', 'y', 'width', 'height')


@DATASETS.register_module()
class ReferVisualGenomeDataset(RegionReferenceDataset):
    """Visual Genome region phrases -> their box (official
    ``ReferVisualGenomeDataset``, ``refvg``).

    One sample per region of ``width * height < 16384`` pixels; the phrase goes
    through ``blip_caption`` and one of the 7 ``[refer]`` instructions is drawn
    (see :class:`RegionReferenceDataset`); the box is written on the 0-100 grid
    of the image as decoded.

    The official dataset reads the files with the ``visual_genome`` package
    (``local.get_all_region_descriptions``); this reads the same two files
    directly. Layout (the official README's), under ``data_root``::

        visual_genome/region_descriptions.json
        visual_genome/image_data.json
        visual_genome/VG_100K/{image_id}.jpg, visual_genome/VG_100K_2/{image_id}.jpg

    - ``region_descriptions.json``: ``[{"id": image_id, "regions": [{"region_id",
      "phrase", "x", "y", "width", "height", ...}, ...]}, ...]``;
    - ``image_data.json``: ``[{"image_id" (or "id"), "url", ...}, ...]``; an
      image's file is the last two parts of its ``url`` (e.g.
      ``.../VG_100K_2/1.jpg`` -> ``VG_100K_2/1.jpg``) under ``data_prefix``.

    A sample: ``instruction`` e.g. ``'[refer] the location of the astronaut's
    helmet is'``, ``answer`` e.g. ``'{<9><20><34><39>}'``, plus ``img``,
    ``image_id``, ``img_path``, ``ori_shape``, ``region_id``.

    Args:
        data_root (str): The MiniGPT-v2 data folder.
        ann_file (str): Defaults to 'visual_genome/region_descriptions.json'.
        image_data_file (str): Defaults to 'visual_genome/image_data.json'.
        data_prefix (dict): The folder of ``VG_100K`` and ``VG_100K_2``.
            Defaults to ``dict(img_path='visual_genome')``.
        pipeline (Sequence[dict]): Transforms. Defaults to ().
        on_bad_sample (str): ``'error'`` or ``'skip'``, see
            :class:`~mmpretrain_minigpt4.datasets.ImageTextDataset`. Defaults to
            'error'. Real Visual Genome has regions reaching past their image,
            which are bad samples here.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments.

    Raises:
        FileNotFoundError: If an annotation file is missing.
        AnnotationFileError: When the annotations are loaded, if a file is not
            JSON, an entry lacks a field or has a wrong type, an image of
            ``region_descriptions.json`` is not in ``image_data.json``, or no
            region is small enough.
        BadSampleError: When a sample is loaded, if its image is missing or
            unreadable, its box is not inside the image, or its phrase is empty
            after ``blip_caption``.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str = 'visual_genome/region_descriptions.json',
                 image_data_file: str = 'visual_genome/image_data.json',
                 data_prefix: Optional[dict] = None,
                 pipeline=(),
                 on_bad_sample: str = 'error',
                 **kwargs):
        self.image_data_file = image_data_file
        super().__init__(
            ann_file=ann_file, data_root=data_root,
            data_prefix=data_prefix or dict(img_path='visual_genome'),
            pipeline=pipeline, on_bad_sample=on_bad_sample, **kwargs)

    def load_data_list(self) -> List[dict]:
        regions_file = self.require_file(self.ann_file, 'Visual Genome region descriptions')
        image_files = self._image_files(self.require_file(
            self.join_data_root(self.image_data_file), 'Visual Genome image data'))
        images = expect_type(load_json(regions_file), list, regions_file, '', 'a list of images')
        data_list = []
        for position, image in enumerate(expect_entries(images, regions_file, 'images')):
            expect_fields(image, ('id', 'regions'), regions_file, json_path(position))
            image_id = image['id']
            if image_id not in image_files:
                raise AnnotationFileError(regions_file, f'image {image_id!r} is not in '
                                          f'{self.join_data_root(self.image_data_file)}',
                                          json_path(position, 'id'))
            img_path = self.image_path(image_files[image_id])
            regions = expect_type(image['regions'], list, regions_file,
                                  json_path(position, 'regions'), 'a list of regions')
            for index, region in enumerate(regions):
                where = json_path(position, 'regions', index)
                expect_fields(region, REGION_FIELDS, regions_file, where)
                bbox = expect_box([region[key] for key in REGION_FIELDS[1:]], regions_file, where,
                                  'x, y, width, height')
                if bbox[2] * bbox[3] >= MAX_REGION_AREA:
                    continue
                phrase = expect_type(region['phrase'], str, regions_file,
                                     json_path(position, 'regions', index, 'phrase'), 'a string')
                region_id = region.get('region_id', region.get('id'))
                data_list.append(dict(
                    image_id=image_id, img_path=img_path, expressions=[phrase], bbox=bbox,
                    region_id=region_id, key=f'{where}, region_id {region_id!r}'))
        return expect_entries(data_list, regions_file,
                              f'regions smaller than {MAX_REGION_AREA} pixels')

    @staticmethod
    def _image_files(path: str) -> Dict[object, str]:
        """``{image id: image file relative to the image folder}`` from ``image_data.json``."""
        entries = expect_type(load_json(path), list, path, '', 'a list of images')
        image_files = {}
        for position, entry in enumerate(entries):
            expect_type(entry, dict, path, json_path(position), 'an object')
            # The visual_genome package reads either spelling of the id.
            id_key = 'id' if 'id' in entry else 'image_id'
            expect_fields(entry, (id_key, 'url'), path, json_path(position))
            url = expect_type(entry['url'], str, path, json_path(position, 'url'), 'a string')
            image_files[entry[id_key]] = '/'.join(url.split('/')[-2:])
        return image_files
