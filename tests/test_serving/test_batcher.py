"""Answers row by row (stops, limits, what may be streamed), grouping, the streamer's early
end, and the batcher's queue and drain on the tiny model in-process."""
import threading

import pytest
import torch
from conftest import load_script, real_photo
from serving_process import MODEL_ARGS

from mmpretrain_minigpt4.conversation import get_template
from mmpretrain_minigpt4.serving.batcher import (BatchStreamer, DynamicBatcher, Failed, Finished,
                                                 GenerationJob, ServerBusy, TextDelta,
                                                 group_jobs)
from mmpretrain_minigpt4.serving.openai_schema import ChatCompletionRequest
from mmpretrain_minigpt4.serving.row_answer import RowAnswer
from mmpretrain_minigpt4.serving.served_model import ServedModel

VICUNA = get_template('vicuna_v0')
EOS = 0
# A toy vocabulary: token id -> text; decode drops the end token.
PIECES = ['</s>', ' A', ' cat', '.', ' #', '#', '##', ' Ass', 'istant:', ' END', ' ', '\ufffd']


def decode(ids):
    return ''.join(PIECES[i] for i in ids if i != EOS)


def ids(*pieces):
    return [PIECES.index(p) for p in pieces]


def streamed(tokens, **kwargs):
    """Feed ``tokens``; return the row, the streamable text after each, the final text."""
    row = RowAnswer(VICUNA, decode, EOS, **{'max_new_tokens': 50, **kwargs})
    texts = []
    for token in tokens:
        row.add(token)
        texts.append(row.streamable_text())
    return row, texts


@pytest.mark.parametrize('pieces, limit, text, reason, count', [
    ([' A', ' cat', '.', ' #', '##', ' A'], 50, 'A cat.', 'stop', 5),  # '###' in two tokens
    ([' A', ' cat', '</s>', ' A'], 50, 'A cat', 'stop', 3),
    ([' Ass', 'istant:', ' A', ' cat'], 4, 'A cat', 'length', 4),  # the role echo is cut
    ([' A', ' cat', ' END', ' A'], 50, 'A cat', 'stop', 3),  # the request's own stop string
    ([' A', ' cat', '.', ' A'], 3, 'A cat.', 'length', 3),
])
def test_a_row_finishes_where_generate_would_or_at_its_own_limits(pieces, limit, text, reason,
                                                                  count):
    row, texts = streamed(ids(*pieces), max_new_tokens=limit, stop=(' END',))
    assert (row.text, row.finish_reason, len(row.token_ids)) == (text, reason, count)
    # What may be streamed only grows, and is a beginning of the final text.
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:])) and texts[-1] == text


def test_undecided_tails_are_held_back():
    _, texts = streamed(ids(' A', ' cat', ' #', '#', '.', ' ', '\ufffd', ' cat'))
    # ' #' and '##' may become '###'; trailing space and a broken character wait too.
    # 'A' may become the role marker 'Assistant:'.
    assert texts == ['', 'A cat', 'A cat', 'A cat', 'A cat ##.', 'A cat ##.', 'A cat ##.',
                     'A cat ##. \ufffd cat']
    _, texts = streamed(ids(' Ass', 'istant:', ' cat'))
    assert texts == ['', '', 'cat']  # the echoed role is never sent


def job(settings=None, seed=None, prompt_tokens=40, events=None, stream=False):
    settings = {'do_sample': False, 'max_new_tokens': 8, **(settings or {})}
    deliver = events.append if events is not None else (lambda event: None)
    return GenerationJob('<ImageHere>', prompt_tokens, {}, b'', settings, deliver, seed=seed,
                         stream=stream)


def test_grouping_by_settings_seed_and_context():
    greedy = [job(), job({'max_new_tokens': 30}), job(seed=1)]
    sampled = [job({'do_sample': True, 'temperature': 0.7}),
               job({'do_sample': True, 'temperature': 0.7, 'max_new_tokens': 2}),
               job({'do_sample': True, 'temperature': 0.9})]
    seeded = [job({'do_sample': True, 'temperature': 0.7}, seed=3) for _ in range(2)]
    long_prompt = job({'max_new_tokens': 4}, prompt_tokens=90)
    groups = group_jobs(greedy + sampled + seeded + [long_prompt], context_length=100)
    assert groups == [greedy, sampled[:2], sampled[2:], seeded[:1], seeded[1:],
                      [long_prompt]]  # 90 + 30 > 100


def test_streamer_routes_rows_and_ends_when_no_row_is_read():
    events = [[], []]
    jobs = [job(events=events[0], stream=True), job(events=events[1])]
    rows = [RowAnswer(VICUNA, decode, EOS, 2), RowAnswer(VICUNA, decode, EOS, 6)]
    streamer = BatchStreamer(jobs, rows, max_new_tokens=6)
    streamer.put(torch.zeros(2, 0, dtype=torch.long))  # the prompt, before generation
    streamer.put(torch.tensor(ids(' cat', ' cat')))
    streamer.put(torch.tensor(ids('.', '.')))
    assert events[0] == [TextDelta('cat'), TextDelta('.'), Finished('cat.', 'length', 2)]
    assert events[1] == []  # not streamed: its answer comes whole
    jobs[1].cancel()
    with pytest.raises(Exception) as ended:  # no reader left: generation stops early
        streamer.put(torch.tensor(ids('.', '.')))
    assert type(ended.value).__name__ == '_AllRowsFinished' and events[1] == []


@pytest.fixture(scope='module')
def served():
    chat_tool = load_script('tools/chat.py')
    torch.manual_seed(0)
    return ServedModel(chat_tool.build_chat(chat_tool.parse_args([*MODEL_ARGS, 'x.jpg'])), 'tiny')


def real_job(served, events, question='What is it?', **settings):
    prompt = f'###Human: <Img><ImageHere></Img> {question}###Assistant: '
    sample, key = served.image_input(real_photo('chelsea')[..., ::-1])
    generation = dict(served.generation_settings(
        ChatCompletionRequest('tiny', [], max_tokens=4), 100), **settings)
    done = threading.Event()

    def deliver(event):
        events.append(event)
        if isinstance(event, (Finished, Failed)):
            done.set()

    return GenerationJob(prompt, served.model.prompt_length(prompt), sample, key, generation,
                         deliver), done


def test_queue_limit_and_drain_on_stop(served):
    batcher = DynamicBatcher(served, max_batch_size=4, batch_wait_s=0.05, max_queue_size=2)
    events = [[] for _ in range(3)]
    (first, first_done), (second, second_done), (third, _) = [
        real_job(served, e) for e in events]
    batcher.submit(first)
    batcher.submit(second)
    with pytest.raises(ServerBusy):
        batcher.submit(third)
    second.cancel()  # a cancelled request no longer counts
    batcher.submit(third)
    batcher.start()
    assert batcher.stop(timeout=60)  # answers what was queued, then ends
    assert first_done.is_set() and events[1] == []
    assert isinstance(events[0][-1], Finished) and isinstance(events[2][-1], Finished)
    status = batcher.status()
    assert status['batch_sizes'] == {'2': 1} and status['cancelled'] == 1
    assert status['completed'] == 2
    with pytest.raises(ServerBusy, match='shutting down'):
        batcher.submit(first)


def test_a_failed_generation_fails_its_requests_and_the_worker_goes_on(served, monkeypatch):
    batcher = DynamicBatcher(served, batch_wait_s=0)
    events = []
    bad, bad_done = real_job(served, events, top_k='many')  # refused inside generate
    batcher.start()
    batcher.submit(bad)
    assert bad_done.wait(60)
    assert isinstance(events[-1], Failed) and 'top_k' in events[-1].message
    good, good_done = real_job(served, events)
    batcher.submit(good)
    assert good_done.wait(60) and isinstance(events[-1], Finished)
    assert batcher.stop(timeout=60) and batcher.status()['failed'] == 1
