"""The real openai client against tools/serve.py on the tiny model: a caption, a VQA turn, a
two-turn conversation and streamed answers, each equal to the in-process Chat's greedy
answer; usage, seeds, stop strings, local files, the API key, a request leaving its batch
early and a client disconnecting mid-stream."""
import asyncio
import os.path as osp
import time

import httpx
import openai
import pytest
import torch
from conftest import load_script
from serving_process import (API_KEY, MODEL_ARGS, MODEL_NAME,
                             image_dir, photo_url, shared_server, user_message)

CAPTION_INSTRUCTION = 'Describe this image in detail.'


@pytest.fixture(scope='module')
def server():
    return shared_server()


@pytest.fixture(scope='module')
def client(server):
    return openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=120)


@pytest.fixture(scope='module')
def chat():
    """The server's model in-process: the same arguments and seed give the same weights."""
    chat_tool = load_script('tools/chat.py')
    torch.manual_seed(0)
    return chat_tool.build_chat(chat_tool.parse_args([*MODEL_ARGS, 'unused.jpg']))


def chat_answers(chat, questions):
    """Chat's answers to ``questions`` about image_dir()'s photo, one conversation."""
    chat.upload_image(osp.join(image_dir(), 'chelsea.jpg'))
    answers, prompts = [], []
    for question in questions:
        chat.ask(question)
        prompts.append(chat.build_prompt())
        answers.append(chat.answer())
    return answers, prompts


def ask(client, messages, **kwargs):
    return client.chat.completions.create(model=MODEL_NAME, messages=messages, **kwargs)


def test_models_and_health(client, server):
    assert [m.id for m in client.models.list().data] == [MODEL_NAME]
    health = httpx.get(server.url + '/health').json()  # no API key needed
    assert health['status'] == 'ok' and health['model'] == MODEL_NAME


def test_caption_is_the_chat_answer_with_usage(client, chat):
    response = ask(client, [user_message(None, photo_url())])  # the image alone: a caption
    (expected,), (prompt,) = chat_answers(chat, [CAPTION_INSTRUCTION])
    choice = response.choices[0]
    assert choice.message.role == 'assistant' and choice.message.content == expected
    assert response.model == MODEL_NAME and response.object == 'chat.completion'
    assert response.usage.prompt_tokens == chat.model.prompt_length(prompt)
    assert 1 <= response.usage.completion_tokens <= 8
    assert (choice.finish_reason == 'length') == (response.usage.completion_tokens == 8)
    assert response.usage.total_tokens == (response.usage.prompt_tokens +
                                           response.usage.completion_tokens)


def test_vqa_turn_is_the_chat_answer(client, chat):
    question = 'What animal is in the picture, and what colour is it?'
    response = ask(client, [user_message(question, photo_url())], temperature=0)
    assert response.choices[0].message.content == chat_answers(chat, [question])[0][0]


def test_two_turn_conversation_is_the_chat_answer(client, chat):
    (first, second), _ = chat_answers(chat, ['What is it?', 'Is it asleep?'])
    response = ask(client, [
        user_message('What is it?', photo_url()),
        {'role': 'assistant', 'content': first},
        {'role': 'user', 'content': 'Is it asleep?'}], temperature=0)
    assert response.choices[0].message.content == second


def test_streamed_chunks_join_to_the_answer(client):
    messages = [user_message('Where is it lying?', photo_url('coffee'))]
    whole = ask(client, messages, max_tokens=12)
    chunks = list(ask(client, messages, max_tokens=12, stream=True,
                      stream_options={'include_usage': True}))
    assert chunks[0].choices[0].delta.role == 'assistant'
    assert all(c.object == 'chat.completion.chunk' and c.id == chunks[0].id for c in chunks)
    text = ''.join(c.choices[0].delta.content or '' for c in chunks if c.choices)
    assert text == whole.choices[0].message.content and text
    finish = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finish[-1] == whole.choices[0].finish_reason and not any(finish[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage


def test_system_message_and_local_file(client):
    messages = [user_message('What is it?', photo_url())]
    from_data_url = ask(client, messages).choices[0].message.content
    local = 'file://' + osp.join(image_dir(), 'chelsea.jpg')
    assert ask(client, [user_message('What is it?', local)]).choices[0].message.content == (
        from_data_url)
    # Another system text is another prompt: more prompt tokens, the same image.
    system = {'role': 'system', 'content': 'You are a careful assistant who looks at images.'}
    other = ask(client, [system, *messages])
    assert other.usage.prompt_tokens != ask(client, messages).usage.prompt_tokens


def test_stop_strings_cut_the_answer(client):
    messages = [user_message('What is it?', photo_url('astronaut'))]
    answer = ask(client, messages, max_tokens=8).choices[0].message.content
    start = next(i for i in range(2, len(answer) - 2) if answer.find(answer[i:i + 2]) == i)
    stop = answer[start:start + 2]
    cut = ask(client, messages, max_tokens=8, stop=[stop, 'never written'])
    assert cut.choices[0].message.content == answer[:start]
    assert cut.choices[0].finish_reason == 'stop'
    streamed = ask(client, messages, max_tokens=8, stop=stop, stream=True)
    assert ''.join(c.choices[0].delta.content or '' for c in streamed if c.choices) == (
        answer[:start])


def test_a_seed_makes_sampling_reproducible(client):
    messages = [user_message('What is it?', photo_url())]

    def sample(seed):
        return ask(client, messages, temperature=1.0, top_p=1.0, seed=seed,
                   max_tokens=8).choices[0].message.content

    first = sample(7)
    assert sample(7) == first
    assert sample(8) != first


def test_the_api_key_is_required(server):
    wrong = openai.OpenAI(base_url=server.base_url, api_key='wrong', max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        wrong.models.list()
    assert refused.value.status_code == 401
    response = httpx.post(server.base_url + '/chat/completions', json={})
    assert response.status_code == 401
    assert response.json()['error']['code'] == 'invalid_api_key'


def test_a_short_request_leaves_the_batch_before_a_long_one(server):
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0,
                                timeout=120)
    messages = [user_message('What is it?', photo_url())]
    finished = []

    async def long():
        stream = await client.chat.completions.create(model=MODEL_NAME, messages=messages,
                                                      max_tokens=400, stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].finish_reason:
                finished.append('long')

    async def short():
        response = await client.chat.completions.create(model=MODEL_NAME, messages=messages,
                                                        max_tokens=2)
        finished.append('short')
        return response

    async def both():
        return (await asyncio.gather(short(), long()))[0]

    sizes = server.health()['batch_sizes']
    response = asyncio.run(both())
    assert finished == ['short', 'long']  # the short one did not wait for the long one
    assert response.usage.completion_tokens == 2 and response.choices[0].finish_reason == 'length'
    assert server.health()['batch_sizes'].get('2', 0) == sizes.get('2', 0) + 1  # one batch


def test_a_client_that_disconnects_mid_stream_frees_its_slot(server, client):
    before = server.health()
    body = {'model': MODEL_NAME, 'messages': [user_message('What is it?', photo_url())],
            'max_tokens': 1500, 'stream': True}
    with httpx.stream('POST', server.base_url + '/chat/completions', json=body, timeout=60,
                      headers={'Authorization': f'Bearer {API_KEY}'}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if '"content": "' in line and '"content": ""' not in line:
                break  # the answer is being generated; leave
    deadline = time.monotonic() + 60
    while server.health()['running'] and time.monotonic() < deadline:
        time.sleep(0.1)
    after = server.health()
    assert after['running'] == 0
    assert after['cancelled'] == before['cancelled'] + 1
    # The generation stopped when its only reader left (not after 1500 tokens).
    assert after['batches_ended_early'] == before['batches_ended_early'] + 1
    assert ask(client, [user_message('Still there?', photo_url())]).choices[0].message.content
