"""Requests read without a server: the checked fields, messages -> the official chat prompt
(as Chat builds it), image URLs -> the training decoder's pixels within the limits."""
import os
import os.path as osp

import numpy as np
import pytest
from conftest import real_photo
from serving_process import data_url, encoded, user_message

from mmpretrain_minigpt4.conversation import get_template
from mmpretrain_minigpt4.datasets.image_decoding import read_image
from mmpretrain_minigpt4.serving import request_image
from mmpretrain_minigpt4.serving.errors import RequestError
from mmpretrain_minigpt4.serving.openai_schema import parse_chat_request
from mmpretrain_minigpt4.serving.request_conversation import (build_request_prompt,
                                                              parse_messages)
from mmpretrain_minigpt4.serving.request_image import ImageLimits, read_request_image

SYSTEM = ('Give the following image: <Img>ImageContent</Img>. You will be able to see the '
          'image once I provide it to you. Please answer my questions.')
IMAGE = 'data:image/png;base64,AAAA'
CAPTION = 'Describe this image in detail.'
LIMITS = ImageLimits(max_pixels=10**6, max_file_bytes=10**6)


def test_fields_defaults_and_synonyms():
    request = parse_chat_request({'model': 'm', 'messages': [{}], 'temperature': None,
                                  'max_completion_tokens': 5, 'stop': 'END', 'user': 'me'})
    assert (request.max_tokens, request.temperature, request.stop) == (5, None, ('END',))
    assert (request.stream, request.include_usage, request.seed) == (False, False, None)
    request = parse_chat_request({'model': 'm', 'messages': [{}], 'stream': True, 'n': 1,
                                  'stream_options': {'include_usage': True}, 'seed': -3,
                                  'stop': ['a', 'b'], 'top_p': 1, 'temperature': 0})
    assert request.include_usage and request.stop == ('a', 'b') and request.seed == -3
    with pytest.raises(RequestError) as both:
        parse_chat_request({'model': 'm', 'messages': [{}], 'max_tokens': 4,
                            'max_completion_tokens': 4})
    assert both.value.param == 'max_completion_tokens'


@pytest.mark.parametrize('template, expected', [
    ('vicuna_v0', f'{SYSTEM}###Human: <Img><ImageHere></Img> What is it?###Assistant: A cat.'
                  '###Human: And its colour?###Assistant: '),
    ('llama2', f'{SYSTEM}<s>[INST] <Img><ImageHere></Img> What is it? [/INST] A cat.<s>[INST] '
               'And its colour? [/INST] '),
])
def test_a_conversation_is_the_official_chat_prompt(template, expected):
    conversation = parse_messages([
        {'role': 'user', 'content': [{'type': 'text', 'text': ' What is it? '},
                                     {'type': 'image_url', 'image_url': {'url': IMAGE}}]},
        {'role': 'assistant', 'content': 'A cat. '},
        {'role': 'user', 'content': 'And its colour?'}], CAPTION)
    # The image goes first wherever its part is, as Chat.ask puts it.
    assert conversation.messages[0] == (0, '<Img><ImageHere></Img> What is it?')
    assert (conversation.image_url, conversation.image_param) == (
        IMAGE, 'messages[0].content[1].image_url.url')
    assert build_request_prompt(get_template(template), conversation) == expected


def test_system_message_replaces_the_system_text_and_an_image_alone_asks_for_a_caption():
    conversation = parse_messages([{'role': 'system', 'content': 'Be brief.'},
                                   user_message(None, IMAGE)], CAPTION)
    assert build_request_prompt(get_template('vicuna_v0'), conversation) == (
        f'Be brief.###Human: <Img><ImageHere></Img> {CAPTION}###Assistant: ')
    texts = parse_messages([user_message('Hi', IMAGE), {'role': 'assistant', 'content': ''},
                            {'role': 'user', 'content': [{'type': 'text', 'text': 'a'},
                                                         {'type': 'text', 'text': 'b'}]}],
                           CAPTION)
    assert texts.messages[1:] == ((1, ''), (0, 'a b'))


def test_a_data_url_gives_the_training_decoders_pixels(tmp_path):
    photo = real_photo('coffee')
    for image_format, media_type in (('JPEG', 'image/jpeg'), ('PNG', 'image/png'),
                                     ('WEBP', 'image/webp')):
        data = encoded(photo, image_format)
        path = tmp_path / f'photo.{image_format.lower()}'
        path.write_bytes(data)
        pixels = read_request_image(data_url(data, media_type), 'url', LIMITS)
        np.testing.assert_array_equal(pixels, read_image(str(path)))
    wrapped = data_url(data)[:40] + '\n' + data_url(data)[40:]  # base64 may be wrapped
    np.testing.assert_array_equal(read_request_image(wrapped, 'url', LIMITS), pixels)


def test_pixels_are_checked_before_decoding(monkeypatch):
    monkeypatch.setattr(request_image, 'decode_image', pytest.fail)
    big = data_url(encoded(np.zeros((1001, 1000, 3), np.uint8), 'PNG'), 'image/png')
    with pytest.raises(RequestError) as refused:
        read_request_image(big, 'messages[0].content[0].image_url.url', LIMITS)
    assert refused.value.code == 'image_too_large'
    assert refused.value.param == 'messages[0].content[0].image_url.url'
    assert '1000 x 1001 = 1001000 pixels' in refused.value.message


def test_local_files_only_under_the_image_dir(tmp_path):
    inside, outside = tmp_path / 'images', tmp_path / 'private'
    inside.mkdir()
    outside.mkdir()
    data = encoded(real_photo('chelsea'))
    (inside / 'cat one.jpg').write_bytes(data)
    (outside / 'secret.jpg').write_bytes(data)
    os.symlink(outside / 'secret.jpg', inside / 'link.jpg')
    limits = ImageLimits(10**6, 10**6, str(inside))
    pixels = read_request_image(f'file://{inside}/cat%20one.jpg', 'url', limits)
    np.testing.assert_array_equal(pixels, read_image(str(inside / 'cat one.jpg')))
    for url, code in ((f'file://{inside}/link.jpg', 'local_image_refused'),
                      (f'file://{inside}/../private/secret.jpg', 'local_image_refused'),
                      (f'file://{inside}/missing.jpg', 'image_not_found'),
                      (f'file://other-host{inside}/cat%20one.jpg', 'invalid_image_url'),
                      (osp.join(str(inside), 'cat one.jpg'), 'invalid_image_url')):
        with pytest.raises(RequestError) as refused:
            read_request_image(url, 'url', limits)
        assert refused.value.code == code, url
    with pytest.raises(RequestError) as no_dir:
        read_request_image(f'file://{inside}/cat%20one.jpg', 'url', LIMITS)
    assert no_dir.value.code == 'local_image_refused' and '--image-dir' in no_dir.value.message
    small = ImageLimits(10**6, len(data) - 1, str(inside))
    with pytest.raises(RequestError, match='larger than'):
        read_request_image(f'file://{inside}/cat%20one.jpg', 'url', small)
