"""MiniGPT-v2 box text: written as the official datasets write it, read as the official
demo reads it, and every malformed case with a defined result."""
import pytest

from mmpretrain_minigpt4.grounding import (GridBox, coco_to_corners, format_box, format_boxes,
                                           format_phrase, parse_grounded_text, to_grid)

IMAGE = (640, 480)  # width, height


def test_a_coco_box_becomes_truncated_grid_text():
    # COCO [x, y, w, h] = [100, 50, 200, 100] in 640 x 480:
    # 100/640*100 = 15.6 -> 15, 50/480*100 = 10.4 -> 10, 300/640*100 = 46.9 -> 46, 150/480*100 = 31.25 -> 31
    box = to_grid(coco_to_corners([100, 50, 200, 100]), IMAGE)
    assert box == GridBox(15, 10, 46, 31)
    assert format_box(box) == '{<15><10><46><31>}'


def test_an_annotation_outside_the_image_is_an_error_not_a_clamped_box():
    with pytest.raises(ValueError, match=r'not inside an image of 640 x 480'):
        to_grid((600, 10, 700, 20), IMAGE)
    with pytest.raises(ValueError, match='x1 <= x2'):
        to_grid((300, 10, 200, 20), IMAGE)
    with pytest.raises(ValueError, match='not finite'):
        to_grid((float('nan'), 0, 1, 1), IMAGE)


def test_round_trip_of_a_grounded_caption_with_several_boxes():
    man, horses = GridBox(10, 20, 45, 98), [GridBox(30, 40, 60, 99), GridBox(61, 40, 90, 99)]
    text = f"{format_phrase('a man', [man])} rides {format_phrase('two horses', horses)}."
    assert text == ('<p>a man</p> {<10><20><45><98>} rides <p>two horses</p> '
                    '{<30><40><60><99>}<delim>{<61><40><90><99>}.')
    answer = parse_grounded_text(text, (200, 100))
    assert answer.problems == []
    assert answer.text == 'a man rides two horses.'
    assert [p.text for p in answer.phrases] == ['a man', 'two horses']
    assert answer.phrases[0].boxes == [(20.0, 20.0, 90.0, 98.0)]
    assert answer.phrases[1].boxes == [(60.0, 40.0, 120.0, 99.0), (122.0, 40.0, 180.0, 99.0)]
    assert len(answer.boxes) == 3


def test_delim_inside_one_brace_and_spaces_are_read_too():
    """The official demo's parser accepts both spellings of several boxes."""
    answer = parse_grounded_text('<p>cats</p>{ <0><0><50><50> <delim> <50><50><100><100> }',
                                 (100, 100))
    assert answer.problems == []
    assert answer.phrases[0].boxes == [(0.0, 0.0, 50.0, 50.0), (50.0, 50.0, 100.0, 100.0)]


def test_a_refer_answer_is_one_bare_box_in_pixels():
    answer = parse_grounded_text('{<4><50><30><65>}', IMAGE)
    assert answer.text == '' and answer.problems == []
    assert answer.phrases == [(None, [(25.6, 240.0, 192.0, 312.0)])]


@pytest.mark.parametrize('text, problem', [
    ('{<4><50><30>}', "malformed box '<4><50><30>'"),
    ('{<4><50><30><65><1>}', 'malformed box'),
    ('{<a><50><30><65>}', 'malformed box'),
    ('{<4><50><130><65>}', "box '<4><50><130><65>' is outside the 0-100 grid"),
    ('{<-1><50><30><65>}', 'outside the 0-100 grid'),
    ('{<40><50><30><65>}', 'has its corners reversed'),
    ('the cat {<4><50><3', "unfinished box '{<4><50><3' at the end of the answer"),
])
def test_an_unreadable_box_is_reported_and_left_out(text, problem):
    answer = parse_grounded_text(text, IMAGE)
    assert answer.boxes == []
    (reported, ) = answer.problems
    assert problem in reported


def test_good_boxes_are_kept_beside_bad_ones():
    answer = parse_grounded_text(
        '<p>dog</p> {<1><2><3><4>}<delim>{<9><9>} and <p>ball</p> {<5><5><120><6>}', (100, 100))
    assert [(p.text, p.boxes) for p in answer.phrases] == [
        ('dog', [(1.0, 2.0, 3.0, 4.0)]), ('ball', [])]
    assert len(answer.problems) == 2
    assert answer.text == 'dog and ball'


def test_text_without_boxes_is_plain_text():
    answer = parse_grounded_text('A cat on a sofa.', IMAGE)
    assert answer == ('A cat on a sofa.', [], [])


def test_format_boxes_needs_a_box():
    with pytest.raises(ValueError, match='at least one box'):
        format_boxes([])
