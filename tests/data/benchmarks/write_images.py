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
    'refcoco': {
        'train2014/COCO_train2014_000000200001.jpg': 'astronaut',
        'train2014/COCO_train2014_000000200002.jpg': 'chelsea',
    },
    'iconqa': {
        'iconqa/val/choose_txt/101/image.png': 'rocket',
        'iconqa/val/choose_txt/102/image.png': 'coffee',
    },
    'hateful_memes': {
        'img/01235.png': 'chelsea',
        'img/04678.png': 'coffee',
        'img/52016.png': 'rocket',
    },
}


def write_images(images: dict, root: str) -> None:
    """Write ``images`` (``{folder: {relative image path: scikit-image photo}}``) under
    ``root``: each photo shrunk to a long side of ``LONG_SIDE`` pixels (bicubic), saved by
    its extension (JPEG at quality 85). The MiniGPT-v2 training mini data uses it too."""
    for folder, files in images.items():
        for relative, photo in files.items():
            path = osp.join(root, folder, relative)
            os.makedirs(osp.dirname(path), exist_ok=True)
            image = Image.fromarray(getattr(data, photo)())
            image.thumbnail((LONG_SIDE, LONG_SIDE), Image.BICUBIC)
            image.save(path, **({'quality': 85} if path.endswith('.jpg') else {}))


if __name__ == '__main__':
    write_images(IMAGES, HERE)
