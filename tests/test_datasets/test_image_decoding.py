"""One image decoder: training, evaluation, inference and chat read a file to the same pixels.

Each file kind below is one that decoders disagree on; the pixels everywhere
must be the official ones, ``Image.open(path).convert('RGB')`` (BGR order).
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.image import imread
from mmpretrain.registry import TRANSFORMS
from PIL import Image

from conftest import REPO_ROOT, real_photo
from minigpt4_mini_data import dataset_test_env  # noqa: F401

from mmpretrain_minigpt4.apis import Chat, read_image
from mmpretrain_minigpt4.datasets import CCSBUAlignDataset
from mmpretrain_minigpt4.datasets.image_decoding import UnreadableImageError, decode_image

pytestmark = pytest.mark.usefixtures('dataset_test_env')
TINY_CAPTION = osp.join(REPO_ROOT, 'configs/minigpt4/minigpt-4_tiny_caption.py')
EXIF_ORIENTATION = 0x0112


def photo(size=(48, 32)) -> Image.Image:
    return Image.fromarray(real_photo('coffee')).resize(size)


def exif_rotated(path):
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # "rotate 90 degrees to display"
    photo().save(path, format='JPEG', exif=exif)


def palette_with_transparency(path):
    image = photo().quantize(16)
    image.info['transparency'] = 0
    image.save(path, format='PNG', transparency=0)


def rgba(path):
    image = photo().convert('RGBA')
    alpha = np.tile(np.linspace(0, 255, image.width, dtype=np.uint8), (image.height, 1))
    image.putalpha(Image.fromarray(alpha))
    image.save(path, format='PNG')


def grey_with_alpha(path):
    photo().convert('LA').save(path, format='PNG')


def greyscale(path):
    photo().convert('L').save(path, format='JPEG')


def cmyk(path):
    photo().convert('CMYK').save(path, format='JPEG')


def sixteen_bit(path):
    values = np.asarray(photo().convert('L'), dtype=np.uint16) * 257
    Image.fromarray(values).save(path, format='PNG')


def bilevel(path):
    photo().convert('1').save(path, format='PNG')


FILE_KINDS = [exif_rotated, palette_with_transparency, rgba, grey_with_alpha, greyscale, cmyk,
              sixteen_bit, bilevel]


@pytest.fixture(scope='module')
def image_files(tmp_path_factory):
    """``cc_sbu_align`` layout: image/{i}.jpg (the extension is the dataset's; PIL reads the
    content) and filter_cap.json."""
    root = tmp_path_factory.mktemp('cc_sbu_align')
    (root / 'image').mkdir()
    paths = []
    for number, write in enumerate(FILE_KINDS):
        path = str(root / 'image' / f'{number}.jpg')
        write(path)
        paths.append(path)
    annotations = [dict(image_id=str(i), caption='a cup') for i in range(len(FILE_KINDS))]
    (root / 'filter_cap.json').write_text(json.dumps(dict(annotations=annotations)))
    return str(root), paths


def official_pixels(path) -> np.ndarray:
    """The official decoding, in BGR (mmcv's order)."""
    return np.asarray(Image.open(path).convert('RGB'))[..., ::-1]


@pytest.mark.parametrize('kind', range(len(FILE_KINDS)), ids=[f.__name__ for f in FILE_KINDS])
def test_every_path_decodes_the_official_pixels(image_files, kind):
    root, paths = image_files
    path = paths[kind]
    expected = official_pixels(path)
    assert expected.shape[2] == 3
    training = CCSBUAlignDataset(data_root=root)[kind]['img']
    evaluation = TRANSFORMS.build(dict(type='LoadImageWithPIL'))(dict(img_path=path))['img']
    for decoded in (training, evaluation, read_image(path), read_image(Image.open(path))):
        np.testing.assert_array_equal(decoded, expected)


def test_chat_and_inference_see_the_pixels_of_training(image_files):
    # The chat (and the gradio demo, which hands it file paths) preprocesses
    # through the inferencer: a path gives what the official array gives.
    chat = Chat(TINY_CAPTION, pretrained=False)
    _, paths = image_files
    for path in paths:
        from_path = next(chat.inferencer.preprocess([path]))['inputs']
        from_pixels = next(chat.inferencer.preprocess([official_pixels(path).copy()]))['inputs']
        assert torch.equal(from_path, from_pixels)


def test_opencv_decodes_some_of_these_files_differently(image_files):
    """Why one decoder matters: mmcv's default (OpenCV) loader applies EXIF orientation and
    scales 16-bit values, so its pixels differ from the official ones."""
    _, paths = image_files
    rotated = imread(paths[FILE_KINDS.index(exif_rotated)])
    assert rotated.shape[:2] != official_pixels(paths[FILE_KINDS.index(exif_rotated)]).shape[:2]
    deep = paths[FILE_KINDS.index(sixteen_bit)]
    assert not np.array_equal(imread(deep), official_pixels(deep))


def test_undecodable_bytes_name_their_source():
    with pytest.raises(UnreadableImageError, match=r'shard.tar \(key 7\): corrupt image'):
        decode_image(b'\xff\xd8\xff not really a jpeg', 'shard.tar (key 7)')
    with pytest.raises(UnreadableImageError, match='no image format recognised'):
        decode_image(b'plain text', 'notes.txt')


def test_arrays_are_checked_and_converted():
    bgra = np.zeros((4, 5, 4), np.uint8)
    bgra[..., :3] = 7
    assert read_image(bgra).shape == (4, 5, 3) and (read_image(bgra) == 7).all()
    grey = np.full((4, 5), 9, np.uint8)
    assert read_image(grey).shape == (4, 5, 3)
    assert read_image(grey[:, ::-1]).flags['C_CONTIGUOUS']
    for array, message in [(np.zeros((4, 5, 3), np.float64), 'got float64'),
                           (np.zeros((4, 0, 3), np.uint8), 'empty image'),
                           (np.zeros((4, 5, 2), np.uint8), 'got shape')]:
        with pytest.raises(UnreadableImageError, match=message):
            read_image(array)


def test_no_config_loads_images_with_opencv():
    from glob import glob

    from mmengine.config import Config
    configs = glob(osp.join(REPO_ROOT, 'configs/minigpt4/**/*.py'), recursive=True)
    checked = 0
    for path in configs:
        if '_base_' in path:
            continue
        cfg = Config.fromfile(path)
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            dataset = cfg.get(loader, {}).get('dataset', {})
            for source in dataset.get('datasets', [dataset]):
                types = [t['type'] for t in source.get('pipeline', [])]
                assert 'LoadImageFromFile' not in types, path
                checked += 'LoadImageWithPIL' in types
    assert checked >= 10  # the inference and evaluation configs
