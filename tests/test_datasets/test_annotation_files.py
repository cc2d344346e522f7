"""Annotation files read with errors that say where: file:line:column, or a JSON path."""
import pytest

from mmpretrain_minigpt4.datasets.annotation_files import (AnnotationFileError, expect_fields,
                                                           json_path, load_json, load_json_lines)


@pytest.mark.parametrize('steps, path', [
    (('annotations', 3), 'annotations[3]'),
    ((2, 'answers', 0), '[2].answers[0]'),
    (('201000001', ), '["201000001"]'),
    ((0, 'image id'), '[0]["image id"]'),
])
def test_json_path(steps, path):
    assert json_path(*steps) == path


def test_json_lines_keep_their_line_numbers(tmp_path):
    (tmp_path / 'a.jsonl').write_text('{"a": 1}\n\n  \n[2]\n')
    assert load_json_lines(str(tmp_path / 'a.jsonl')) == [(1, {'a': 1}), (4, [2])]
    (tmp_path / 'b.jsonl').write_text('{"a": 1}\n\n{"a": 2,,}\n')
    with pytest.raises(AnnotationFileError, match=r'b\.jsonl:3:9: invalid JSON: Expecting '
                                                  r'property name') as error:
        load_json_lines(str(tmp_path / 'b.jsonl'))
    assert (error.value.path, error.value.where) == (str(tmp_path / 'b.jsonl'), '3:9')


def test_syntax_error_position_counts_lines_of_the_whole_file(tmp_path):
    (tmp_path / 'a.json').write_text('{\n  "a": [1, 2\n  "b": 3}')
    with pytest.raises(AnnotationFileError, match=r"a\.json:3:3: invalid JSON: Expecting ',' "
                                                  r'delimiter$'):
        load_json(str(tmp_path / 'a.json'))


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.json'):
        load_json(str(tmp_path / 'nothing.json'))


def test_expect_fields_names_the_missing_ones():
    with pytest.raises(AnnotationFileError, match=r'^f\.json: \[4\]: missing fields "image", '
                                                  r'"question" \(has no field\)$'):
        expect_fields({}, ('image', 'question'), 'f.json', '[4]')
    assert expect_fields({'image': 1}, ('image', ), 'f.json', '[4]') == {'image': 1}


def test_a_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / 'a.json').write_bytes(b'\xef\xbb\xbf{"annotations": []}')
    assert load_json(str(tmp_path / 'a.json')) == {'annotations': []}
