"""A bounded load test on loopback: 32 concurrent clients x 4 requests (mixed prompt lengths,
images and max_tokens, every third streamed) are all answered, each greedy answer equal to
the answer of the same request sent alone, and the server batched them."""
import asyncio

import openai
from serving_process import API_KEY, MODEL_NAME, photo_url, shared_server, user_message

QUESTIONS = (
    'Hi',
    'What is it?',
    'What is the man in the picture holding in his hand, and why is he holding it?',
    'Describe every object you can see in this picture from left to right, and say what '
    'colour each one is and what it is made of.',
)
IMAGES = ('chelsea', 'astronaut', 'coffee')
MAX_TOKENS = (3, 8, 12)
REQUESTS = [(QUESTIONS[i % 4], IMAGES[i % 3], MAX_TOKENS[(i // 4) % 3]) for i in range(12)]
CLIENTS, REQUESTS_PER_CLIENT = 32, 4


async def answer(client, question, image, max_tokens, stream):
    kwargs = dict(model=MODEL_NAME, messages=[user_message(question, photo_url(image))],
                  max_tokens=max_tokens, temperature=0)
    if not stream:
        return (await client.chat.completions.create(**kwargs)).choices[0].message.content
    chunks = await client.chat.completions.create(stream=True, **kwargs)
    return ''.join([c.choices[0].delta.content or '' async for c in chunks if c.choices])


async def one_by_one(client):
    return [await answer(client, *request, stream=False) for request in REQUESTS]


async def concurrent_clients(client):
    async def run_client(number):
        answers = []
        for turn in range(REQUESTS_PER_CLIENT):
            index = (number * REQUESTS_PER_CLIENT + turn) % len(REQUESTS)
            stream = (number + turn) % 3 == 0
            answers.append((index, await answer(client, *REQUESTS[index], stream)))
        return answers

    return await asyncio.gather(*(run_client(number) for number in range(CLIENTS)))


def batched_counts(sizes: dict) -> int:
    return sum(count for size, count in sizes.items() if int(size) > 1)


def test_concurrent_greedy_answers_equal_one_by_one_answers_and_are_batched():
    server = shared_server()
    health = []

    async def run():
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0,
                                    timeout=300)
        health.append(server.health())
        expected = await one_by_one(client)
        health.append(server.health())
        return expected, await concurrent_clients(client)

    expected, results = asyncio.run(run())
    start, alone, end = *health, server.health()
    assert int(alone['batch_sizes'].get('1', 0)) - int(start['batch_sizes'].get('1', 0)) == len(
        REQUESTS)  # each expected answer came from a batch of one
    answers = [pair for client_answers in results for pair in client_answers]
    assert len(answers) == CLIENTS * REQUESTS_PER_CLIENT
    wrong = [(REQUESTS[index], got, expected[index]) for index, got in answers
             if got != expected[index]]
    assert not wrong
    assert end['failed'] == alone['failed'] and end['queued'] == 0
    assert batched_counts(end['batch_sizes']) > batched_counts(alone['batch_sizes'])
    assert max(int(size) for size in end['batch_sizes']) <= 8
