"""Drawing grounded answers: boxes in their phrase's colour, labels, scaling, errors."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from mmpretrain_minigpt4.grounding import parse_grounded_text
from mmpretrain_minigpt4.visualization import (PHRASE_COLOURS, draw_grounded_answer,
                                               draw_grounded_boxes, draw_predicted_boxes,
                                               phrase_colours)

GREY = 90


def grey_image(height=200, width=300) -> np.ndarray:
    return np.full((height, width, 3), GREY, dtype=np.uint8)


def test_box_edges_are_the_phrase_colour_and_the_rest_is_untouched():
    image = grey_image()
    drawn = draw_grounded_boxes(image, [[100, 80, 200, 150], [20, 120, 60, 190]],
                                ['a cat', 'a ball'])
    assert drawn.shape == image.shape and drawn.dtype == np.uint8
    assert (image == GREY).all()  # the input is not drawn on
    cat, ball = PHRASE_COLOURS[0], PHRASE_COLOURS[1]
    # The four edges of the first box, the left edge of the second.
    for x, y in ((100, 115), (200, 115), (150, 80), (150, 150)):
        assert tuple(drawn[y, x]) == cat
    assert tuple(drawn[155, 20]) == ball
    # Inside the box, below it and right of it: the image as it was.
    assert (drawn[95:140, 110:190] == GREY).all()
    assert (drawn[160:, 70:] == GREY).all() and (drawn[:, 210:] == GREY).all()
    # The label sits just above the box's top-left corner, on the phrase colour
    # (translucent); nothing else above the box is drawn.
    label = drawn[70:78, 100:120].reshape(-1, 3).astype(int)
    on_colour = np.abs(label - (0.8 * np.array(cat) + 0.2 * GREY)).sum(1) < 30
    assert on_colour.mean() > 0.5
    assert (drawn[:78, 140:] == GREY).all() and (drawn[:60] == GREY).all()


def test_bare_boxes_have_no_label_and_border_boxes_show():
    drawn = draw_grounded_boxes(grey_image(), torch.tensor([[100., 80., 300., 200.]]), [None])
    colour = PHRASE_COLOURS[0]
    assert (drawn[:76] == GREY).all()  # nothing above the box
    # The right and bottom edges on the image's border are drawn inside it.
    assert tuple(drawn[140, 299]) == colour and tuple(drawn[199, 200]) == colour


def test_colours_follow_phrases_in_order_of_appearance():
    phrases = ['a dog', None, 'a cat', 'a dog', None] + [f'p{i}' for i in range(9)]
    colours = phrase_colours(phrases)
    assert colours[:5] == [PHRASE_COLOURS[0], PHRASE_COLOURS[1], PHRASE_COLOURS[2],
                           PHRASE_COLOURS[0], PHRASE_COLOURS[1]]
    assert colours[5:12] == list(PHRASE_COLOURS[3:10])
    assert colours[12:] == [PHRASE_COLOURS[0], PHRASE_COLOURS[1]]  # cycled after ten


def test_a_parsed_answer_draws_as_its_boxes_and_phrases():
    image = grey_image()
    answer = parse_grounded_text(
        '<p>two cats</p> {<10><20><30><40>}<delim>{<50><20><70><40>} near {<80><60><90><90>}',
        (300, 200))
    expected = draw_grounded_boxes(
        image, [[30, 40, 90, 80], [150, 40, 210, 80], [240, 120, 270, 180]],
        ['two cats', 'two cats', None])
    assert np.array_equal(draw_grounded_answer(image, answer), expected)
    assert tuple(expected[60, 150]) == tuple(expected[60, 30]) == PHRASE_COLOURS[0]
    assert tuple(expected[150, 240]) == PHRASE_COLOURS[1]
    no_boxes = parse_grounded_text('A cat on a sofa.', (300, 200))
    assert draw_grounded_answer(image, no_boxes) is image


def test_sample_boxes_are_scaled_from_the_original_image():
    """Boxes in pixels of a 400 x 600 original, drawn on its 200 x 300 resized copy."""
    sample = DataSample(metainfo=dict(ori_shape=(400, 600)))
    sample.pred_bboxes = torch.tensor([[200., 160., 400., 300.]])
    sample.pred_phrases = ['a cat']
    drawn = draw_predicted_boxes(grey_image(), sample)
    assert np.array_equal(drawn, draw_grounded_boxes(grey_image(), [[100, 80, 200, 150]],
                                                     ['a cat']))
    del sample.pred_phrases  # boxes without phrases are bare
    assert (draw_predicted_boxes(grey_image(), sample)[:76] == GREY).all()
    with pytest.raises(KeyError, match="keep 'ori_shape' in PackInputs' meta_keys"):
        draw_predicted_boxes(grey_image(), DataSample(pred_bboxes=torch.zeros(1, 4)))


@pytest.mark.parametrize('boxes, phrases, message', [
    ([[1, 2, 3]], ['a'], r'Boxes must be \(N, 4\) x1, y1, x2, y2; got shape \(1, 3\)'),
    ([[1, 2, 3, 4]], [], '1 boxes but 0 phrases'),
    ([[30, 2, 10, 4]], ['a'], 'Boxes need x1 <= x2 and y1 <= y2'),
])
def test_bad_boxes_are_refused(boxes, phrases, message):
    with pytest.raises(ValueError, match=message):
        draw_grounded_boxes(grey_image(), boxes, phrases)
