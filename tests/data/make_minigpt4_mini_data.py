"""Write the mini MiniGPT-4 training data from ``minigpt4_mini/captions.json`` and scikit-image photos.

Output (committed, about 200 kB), under ``tests/data/minigpt4_mini/``:

- ``laion/00000.tar``, ``laion/00001.tar``, ``cc_sbu/00000.tar``: stage-1
  webdataset shards as img2dataset writes them (``{key}.jpg`` padded to
  224 x 224, ``{key}.txt``, ``{key}.json`` with ``caption``);
- ``cc_sbu_align/filter_cap.json`` + ``cc_sbu_align/image/{image_id}.jpg``:
  stage 2.

Run ``python tests/data/make_minigpt4_mini_data.py`` to regenerate it.
"""
import io
import json
import os
import os.path as osp
import tarfile
from typing import Dict, List

import numpy as np
from PIL import Image, ImageOps

DATA_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'minigpt4_mini')
SHARD_SIZE = 3  # small shards, so a source spans several files
IMG2DATASET_SIZE = 224
ALIGN_MAX_SIDE = 256


def load_photo(name: str) -> Image.Image:
    """A scikit-image photo as an RGB PIL image (grey ones converted)."""
    from skimage import data
    return Image.fromarray(np.asarray(getattr(data, name)())).convert('RGB')


def encode_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format='JPEG', quality=85)
    return buffer.getvalue()


def write_tar(path: str, members: Dict[str, bytes]) -> None:
    """A reproducible uncompressed tar of ``{name: data}`` in the given order."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with tarfile.open(path, 'w', format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))


def img2dataset_members(key: str, image: Image.Image, caption: str, url: str) -> Dict[str, bytes]:
    """img2dataset's members of one sample (``resize_mode='border'``)."""
    resized = ImageOps.pad(image, (IMG2DATASET_SIZE, IMG2DATASET_SIZE),
                           method=Image.Resampling.BICUBIC, color=(0, 0, 0))
    metadata = dict(url=url, caption=caption, key=key, status='success', error_message=None,
                    width=IMG2DATASET_SIZE, height=IMG2DATASET_SIZE,
                    original_width=image.width, original_height=image.height)
    return {f'{key}.jpg': encode_jpeg(resized), f'{key}.txt': caption.encode('utf-8'),
            f'{key}.json': json.dumps(metadata).encode('utf-8')}


def write_stage1_shards(images: List[dict], out_dir: str) -> None:
    for source in sorted({item['source'] for item in images}):
        items = [item for item in images if item['source'] == source]
        for shard_id, start in enumerate(range(0, len(items), SHARD_SIZE)):
            members = {}
            for i, item in enumerate(items[start:start + SHARD_SIZE]):
                key = f'{shard_id:05d}{i:04d}'
                members.update(img2dataset_members(key, load_photo(item['name']),
                                                   item['caption'], f'skimage://{item["name"]}'))
            write_tar(osp.join(out_dir, source, f'{shard_id:05d}.tar'), members)


def write_cc_sbu_align(images: List[dict], out_dir: str) -> None:
    root = osp.join(out_dir, 'cc_sbu_align')
    os.makedirs(osp.join(root, 'image'), exist_ok=True)
    annotations = []
    for image_id, item in enumerate(images):
        image = load_photo(item['name'])
        image.thumbnail((ALIGN_MAX_SIDE, ALIGN_MAX_SIDE), Image.Resampling.BICUBIC)
        with open(osp.join(root, 'image', f'{image_id}.jpg'), 'wb') as f:
            f.write(encode_jpeg(image))
        annotations.append(dict(image_id=str(image_id), caption=item['description']))
    with open(osp.join(root, 'filter_cap.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(annotations=annotations), f, indent=1)


def main(out_dir: str = DATA_DIR) -> None:
    with open(osp.join(DATA_DIR, 'captions.json'), encoding='utf-8') as f:
        images = json.load(f)['images']
    write_stage1_shards(images, out_dir)
    write_cc_sbu_align(images, out_dir)


if __name__ == '__main__':
    main()
