"""Write the images of the mini benchmark splits from scikit-image's photos (CC0 / public domain).

The annotation files beside this script are hand-written in each benchmark's
official format and refer to these file names. Run from anywhere:
``python tests/data/benchmarks/write_images.py`` (the images are committed; rerun
only to regenerate them).
"""
import os
import os.path as osp

from PIL import Image
from skimage import data

HERE = osp.dirname(osp.abspath(__file__))
LONG_SIDE = 160

# benchmark folder -> {relative image path: scikit-image photo}
IMAGES = {
    'coco_caption': {
        'val2014/COCO_val2014_000000100001.jpg': 'astronaut',
        'val2014/COCO_val2014_000000100002.jpg': 'chelsea',
        'val2014/COCO_val2014_000000100003.jpg': 'coffee',
    },
    'vqav2': {
        'val2014/COCO_val2014_000000100001.jpg': 'astronaut',
        'val2014/COCO_val2014_000000100002.jpg': 'chelsea',
        'val2014/COCO_val2014_000000100004.jpg': 'rocket',
    },
    'okvqa': {
        'val2014/COCO_val2014_000000100002.jpg': 'chelsea',
        'val2014/COCO_val2014_000000100003.jpg': 'coffee',
    },
    'gqa': {
        'images/n100001.jpg': 'astronaut',
        'images/n100003.jpg': 'coffee',
    },
    'vsr': {
        'images/000000100002.jpg': 'chelsea',
        'images/000000100003.jpg': 'coffee',
    },
    'scienceqa': {
        'images/test/101/image.png': 'rocket',
        'images/test/103/image.png': 'chelsea',
    },
    'textvqa': {
        'images/train_images/0a1b2c3d4e5f6071.jpg': 'rocket',
        'images/train_images/1b2c3d4e5f607182.jpg': 'coffee',
    },
    'vizwiz': {
        'val/VizWiz_val_00000000.jpg': 'coffee',
        'val/VizWiz_val_00000001.jpg': 'chelsea',
    },
}


def write_images() -> None:
    for benchmark, images in IMAGES.items():
        for relative, photo in images.items():
            path = osp.join(HERE, benchmark, relative)
            os.makedirs(osp.dirname(path), exist_ok=True)
            image = Image.fromarray(getattr(data, photo)())
            image.thumbnail((LONG_SIDE, LONG_SIDE), Image.BICUBIC)
            image.save(path, **({'quality': 85} if path.endswith('.jpg') else {}))


if __name__ == '__main__':
    write_images()
