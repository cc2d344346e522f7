"""Load an image file in a data pipeline with the plugin's one (official, PIL) decoder."""
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from ..image_decoding import read_image_file


@TRANSFORMS.register_module()
class LoadImageWithPIL(BaseTransform):
    """``LoadImageFromFile`` for MiniGPT-4: decode ``img_path`` as training and
    inference do (:mod:`mmpretrain_minigpt4.datasets.image_decoding`), not with
    OpenCV, whose pixels differ for EXIF-rotated, 16-bit and CMYK files.

    **Required keys:** ``img_path``. **Added keys:** ``img`` (H, W, 3) uint8
    BGR, ``img_shape``, ``ori_shape``.

    Raises:
        FileNotFoundError: If the file does not exist.
        UnreadableImageError: If it is not an image; the message names it.
    """

    def transform(self, results: dict) -> dict:
        img = read_image_file(results['img_path'])
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return results
