"""PredictionVisualizationHook draws a grounding sample's boxes, scaled from the original
image to the model's 448 x 448 input, beside its question and answer."""
import numpy as np
import pytest
import torch
from conftest import real_photo
from mmpretrain.structures import DataSample
from mmpretrain.visualization import UniversalVisualizer
from PIL import Image

from mmpretrain_minigpt4.evaluation import PredictionVisualizationHook
from mmpretrain_minigpt4.visualization import PHRASE_COLOURS

SIZE = 448  # MiniGPT-v2's input
# The original size the samples claim (height, width): boxes x * 448/600, y * 448/300.
ORIGINAL = (300, 600)


def input_batch(photo: np.ndarray, count: int) -> dict:
    """The test loop's batch: uint8 BGR (3, 448, 448) images, as LoadImageWithPIL + Resize."""
    resized = np.asarray(Image.fromarray(photo).resize((SIZE, SIZE), Image.BICUBIC))
    image = torch.from_numpy(resized[..., ::-1].copy()).permute(2, 0, 1)
    return dict(inputs=[image] * count), resized


def grounding_sample(**fields) -> DataSample:
    sample = DataSample(metainfo=dict(ori_shape=ORIGINAL, img_path='images/rocket.jpg'))
    sample.set_data(dict(question='[detection] the rocket', pred_answer='<p>the rocket</p> '
                         '{<25><25><75><75>}', **fields))
    return sample


def draw(tmp_path, samples):
    UniversalVisualizer.get_instance('prediction_boxes_test')  # the runner's visualizer
    hook = PredictionVisualizationHook(enable=True, out_dir=str(tmp_path))
    data_batch, resized = input_batch(real_photo('rocket'), len(samples))
    hook.after_test_iter(None, 0, data_batch, samples)
    return resized


def test_boxes_are_drawn_where_the_model_saw_them(tmp_path):
    # (150, 75, 450, 225) in the 600 x 300 original is (112, 112, 336, 336) in the input.
    boxed = grounding_sample(pred_bboxes=torch.tensor([[150., 75., 450., 225.]]),
                             pred_phrases=['the rocket'], pred_box_problems=[])
    plain = grounding_sample()
    resized = draw(tmp_path, [boxed, plain])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ['000000_rocket.png', '000001_rocket.png']
    with_boxes, without = (np.asarray(Image.open(tmp_path / n).convert('RGB')) for n in names)
    assert with_boxes.shape == without.shape == (SIZE, SIZE, 3)
    colour = PHRASE_COLOURS[0]
    for x, y in ((112, 224), (336, 224), (224, 336), (200, 112)):
        assert tuple(with_boxes[y, x]) == colour
        assert tuple(without[y, x]) != colour
    # Far from the box (and the text at the top), both are the input image.
    assert np.array_equal(with_boxes[360:, :], resized[360:, :])
    assert np.array_equal(without[360:, :], resized[360:, :])
    # The question and answer are drawn on both, the same.
    assert np.abs(with_boxes[:30].astype(int) - resized[:30]).mean() > 5
    assert np.array_equal(with_boxes[:30, 200:], without[:30, 200:])


def test_boxes_without_the_original_size_are_refused(tmp_path):
    sample = DataSample(question='q', pred_answer='{<1><2><3><4>}',
                        pred_bboxes=torch.tensor([[6., 6., 18., 24.]]), pred_phrases=[None])
    with pytest.raises(KeyError, match="keep 'ori_shape' in PackInputs' meta_keys"):
        draw(tmp_path, [sample])
