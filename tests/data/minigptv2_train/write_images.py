"""Write the images of the mini MiniGPT-v2 training data from scikit-image's photos
(CC0 / public domain).

The annotation files beside this script are hand-written in each dataset's
official format, laid out as the official README lays out the data folder, and
refer to these file names. They are written as the mini benchmark images are
(``tests/data/benchmarks/write_images.py``). Run from anywhere:
``python tests/data/minigptv2_train/write_images.py`` (the images are committed;
rerun only to regenerate them).
"""
import importlib.util
import os.path as osp

HERE = osp.dirname(osp.abspath(__file__))

# data folder -> {relative image path: scikit-image photo}
IMAGES = {
    # COCO 2014 training images (RefCOCO/+/g); chelsea and coffee are 160 x 106 and 160 x 107.
    'coco': {
        'images/COCO_train2014_000000100011.jpg': 'chelsea',
        'images/COCO_train2014_000000100012.jpg': 'coffee',
    },
    # astronaut is 160 x 160, rocket 160 x 107.
    'visual_genome': {
        'VG_100K/100021.jpg': 'astronaut',
        'VG_100K_2/100022.jpg': 'rocket',
    },
    'filtered_flickr': {
        'images/1000092795.jpg': 'astronaut',
        'images/1000268201.jpg': 'coffee',
    },
    # GQA, OCR-VQA and TextCaps; COCO-VQA, OK-VQA, A-OKVQA, the COCO captions, LLaVA and the
    # multi-task conversations use the COCO images above.
    'gqa': {
        'images/2354786.jpg': 'astronaut',
    },
    # page (grey) is 160 x 80, text (grey) 160 x 61.
    'ocrvqa': {
        'images/1609214654.jpg': 'page',
    },
    'textcaps': {
        'train_images/011e7e629fb9ae7b.jpg': 'text',
    },
}


def benchmark_image_writer():
    """``write_images`` of the benchmark images' script (a script, not a package: loaded
    from its file)."""
    spec = importlib.util.spec_from_file_location(
        'benchmark_write_images', osp.join(HERE, osp.pardir, 'benchmarks', 'write_images.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_images


if __name__ == '__main__':
    benchmark_image_writer()(IMAGES, HERE)
