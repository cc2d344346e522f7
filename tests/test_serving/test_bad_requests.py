"""Every bad request gets its 4xx status and an OpenAI error naming the field; afterwards the
server still answers."""
import os.path as osp

import httpx
import numpy as np
import pytest
from serving_process import (API_KEY, MAX_IMAGE_PIXELS, MAX_REQUEST_BYTES, MODEL_NAME,
                             data_url, encoded, image_dir, photo_url, shared_server,
                             user_message)

AUTH = {'Authorization': f'Bearer {API_KEY}'}
IMAGE_URL = 'messages[0].content[0].image_url.url'


def request(**overrides) -> dict:
    body = {'model': MODEL_NAME, 'messages': [user_message('What is it?', photo_url())]}
    body.update(overrides)
    return body


def with_image(url: str) -> dict:
    return request(messages=[user_message('What is it?', url)])


def image_part(url: str) -> dict:
    return {'type': 'image_url', 'image_url': {'url': url}}


def gif() -> bytes:
    return encoded(np.zeros((8, 8, 3), np.uint8), 'GIF')


def too_many_pixels() -> bytes:
    side = int(MAX_IMAGE_PIXELS ** 0.5) + 1
    return encoded(np.zeros((side, side, 3), np.uint8), 'PNG')


# (request body: dict or raw bytes, status, param, part of the message)
BAD_REQUESTS = {
    'invalid JSON': (b'{"model": "minigpt', 400, None, 'not valid JSON'),
    'not an object': (b'[1, 2]', 400, None, 'must be a JSON object'),
    'missing model': ({'messages': []}, 400, 'model', 'Missing required parameter'),
    'unknown model': (request(model='gpt-4o'), 404, 'model', "'gpt-4o' does not exist"),
    'unsupported parameter': (request(logit_bias={}), 400, 'logit_bias', 'Unsupported'),
    'no messages': (request(messages=[]), 400, 'messages', 'non-empty list'),
    'temperature below 0': (request(temperature=-1), 400, 'temperature', '[0, 2]'),
    'temperature above 2': (request(temperature=2.5), 400, 'temperature', '[0, 2]'),
    'top_p 0': (request(top_p=0), 400, 'top_p', '(0, 1]'),
    'max_tokens 0': (request(max_tokens=0), 400, 'max_tokens', 'integer >= 1'),
    'max_tokens a string': (request(max_tokens='8'), 400, 'max_tokens', 'integer >= 1'),
    'two answers': (request(n=2), 400, 'n', 'one answer per request'),
    'five stop strings': (request(stop=list('abcde')), 400, 'stop', '1 to 4'),
    'empty stop string': (request(stop=''), 400, 'stop', 'non-empty'),
    'seed not an integer': (request(seed='x'), 400, 'seed', '64-bit integer'),
    'stream not a boolean': (request(stream='yes'), 400, 'stream', 'true or false'),
    'stream_options without stream': (request(stream_options={'include_usage': True}), 400,
                                      'stream_options', 'only allowed with stream'),
    'bad base64': (with_image('data:image/png;base64,@@notbase64@@'), 400, IMAGE_URL,
                   'not valid base64'),
    'not an image': (with_image(data_url(b'just some text', 'image/png')), 400, IMAGE_URL,
                     'is not an image'),
    'text media type': (with_image(data_url(b'hello', 'text/plain')), 400, IMAGE_URL,
                        "media type 'text/plain'"),
    'GIF image': (with_image(data_url(gif(), 'image/gif')), 400, IMAGE_URL, 'GIF image'),
    'too many pixels': (with_image(data_url(too_many_pixels(), 'image/png')), 400, IMAGE_URL,
                        f'limit of {MAX_IMAGE_PIXELS}'),
    'remote URL': (with_image('https://example.com/cat.jpg'), 400, IMAGE_URL,
                   'Remote image URLs are not fetched'),
    'file outside --image-dir': (with_image('file:///etc/hostname'), 400, IMAGE_URL,
                                 'outside the --image-dir'),
    'missing file': (with_image('file://' + osp.join(image_dir(), 'missing.jpg')), 400,
                     IMAGE_URL, 'not found'),
    'no image': (request(messages=[{'role': 'user', 'content': 'What is it?'}]), 400,
                 'messages[0].content', 'No image'),
    'a second image': (request(messages=[{'role': 'user', 'content': [
        image_part(photo_url()), image_part(photo_url()), {'type': 'text', 'text': 'Hi'}]}]),
        400, 'messages[0].content[1]', 'A second image'),
    'an image in a later turn': (request(messages=[
        user_message('What is it?', photo_url()), {'role': 'assistant', 'content': 'A cat.'},
        user_message('And this one?', photo_url('coffee'))]), 400, 'messages[2].content[0]',
        'given in the first user message'),
    'system message not first': (request(messages=[
        user_message('What is it?', photo_url()), {'role': 'system', 'content': 'Be brief.'}]),
        400, 'messages[1].role', 'must be the first message'),
    'last message not from the user': (request(messages=[
        user_message('What is it?', photo_url()), {'role': 'assistant', 'content': 'A cat.'}]),
        400, 'messages[1].role', 'must be a user message'),
    'unknown role': (request(messages=[{'role': 'tool', 'content': 'x'}]), 400,
                     'messages[0].role', "got 'tool'"),
    'unknown content part': (request(messages=[{'role': 'user', 'content': [
        image_part(photo_url()), {'type': 'input_audio', 'input_audio': {}}]}]), 400,
        'messages[0].content[1].type', "got 'input_audio'"),
    'empty later question': (request(messages=[
        user_message('What is it?', photo_url()), {'role': 'assistant', 'content': 'A cat.'},
        {'role': 'user', 'content': '   '}]), 400, 'messages[2].content', 'question is empty'),
    'prompt longer than the context': (request(messages=[
        user_message('why ' * 2500, photo_url())]), 400, 'messages', 'shorten the messages'),
    'max_tokens beyond the context': (request(max_tokens=1990), 400, 'max_tokens',
                                      'answer tokens fit'),
}


@pytest.fixture(scope='module')
def server():
    return shared_server()


def post(server, body, **kwargs) -> httpx.Response:
    content = body if isinstance(body, bytes) else None
    return httpx.post(server.base_url + '/chat/completions', content=content,
                      json=None if content is not None else body, timeout=60,
                      headers={**AUTH, 'Content-Type': 'application/json'}, **kwargs)


@pytest.mark.parametrize('case', list(BAD_REQUESTS))
def test_bad_request_is_refused_naming_the_field(server, case):
    body, status, param, message = BAD_REQUESTS[case]
    response = post(server, body)
    assert response.status_code == status, response.text
    error = response.json()['error']
    assert set(error) == {'message', 'type', 'param', 'code'}
    assert error['type'] == 'invalid_request_error'
    assert error['param'] == param and message in error['message'], error


def test_too_large_body_is_413(server):
    response = post(server, b'{"model": "' + b'x' * MAX_REQUEST_BYTES + b'"}')
    assert response.status_code == 413
    assert 'larger than' in response.json()['error']['message']


def test_unknown_path_and_method_in_openai_format(server):
    missing = httpx.get(server.base_url + '/nothing', headers=AUTH)
    assert missing.status_code == 404 and 'Not Found' in missing.json()['error']['message']
    wrong = httpx.get(server.base_url + '/chat/completions', headers=AUTH)
    assert wrong.status_code == 405 and 'error' in wrong.json()


def test_the_server_still_answers_after_them(server):
    for case in ('invalid JSON', 'not an image', 'a second image'):
        assert post(server, BAD_REQUESTS[case][0]).status_code == 400
    response = post(server, request(max_tokens=4))
    assert response.status_code == 200, response.text
    assert response.json()['choices'][0]['message']['content']
    health = server.health()
    assert health['status'] == 'ok' and health['failed'] == 0
