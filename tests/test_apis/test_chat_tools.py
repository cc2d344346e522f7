"""tools/chat.py (terminal) and tools/demo_gradio.py's callbacks, without gradio (the
browser test, tests/test_tools/test_demo_browser.py, drives the page)."""
import html
import importlib
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, real_photo
from PIL import Image
from test_chat import tiny_v2_inferencer  # tests/test_apis/test_chat.py

from mmpretrain_minigpt4.apis import Chat
from mmpretrain_minigpt4.grounding import parse_grounded_text
from mmpretrain_minigpt4.visualization import draw_grounded_answer


@pytest.fixture(scope='module')
def tools():
    """The two tool scripts as modules (the demo imports tools/chat.py as `chat`)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(osp.join(REPO_ROOT, 'tools'))
        yield importlib.import_module('chat'), importlib.import_module('demo_gradio')


@pytest.fixture(scope='module')
def chat(tools):
    chat_tool, _ = tools
    args = chat_tool.parse_args(['minigpt-4_tiny_caption', 'unused.jpg', '--random-weights',
                                 '--greedy', '--max-new-tokens', '6'])
    torch.manual_seed(0)
    return chat_tool.build_chat(args)


def test_command_line_sets_decoding_and_weights(chat, tools, monkeypatch):
    assert chat.generation_cfg['do_sample'] is False
    assert chat.generation_cfg['max_new_tokens'] == 6 and chat.max_length == 2000
    # Unset options leave Chat its template's demo settings (MiniGPT-v2: 0.6, 500 tokens).
    made = {}
    monkeypatch.setattr(tools[0], 'Chat', lambda model, **kwargs: made.update(kwargs))
    tools[0].build_chat(tools[0].parse_args(['m', 'x.jpg']))
    assert made['generation_cfg'] == {}
    tools[0].build_chat(tools[0].parse_args(['m', 'x.jpg', '--temperature', '0.3',
                                             '--num-beams', '2', '--greedy']))
    assert made['generation_cfg'] == dict(temperature=0.3, num_beams=2, do_sample=False)
    monkeypatch.undo()
    args = tools[0].parse_args(['m', 'x.jpg', '--checkpoint', 'c.pth', '--llm', '/llm'])
    assert (args.checkpoint, args.llm, args.greedy) == ('c.pth', '/llm', False)
    with pytest.raises(SystemExit):
        tools[0].parse_args(['m', 'x.jpg', '--checkpoint', 'c.pth', '--random-weights'])


def test_terminal_loop_answers_and_handles_commands(chat, tools, tmp_path):
    photo = tmp_path / 'chelsea.png'
    Image.fromarray(real_photo('chelsea')).save(photo)
    written = []
    lines = ['What is it?', f'/image {tmp_path / "missing.png"}', '', 'And its colour?',
             '/reset', 'Hi?', '/quit', 'never read']
    tools[0].chat_loop(chat, str(photo), iter(lines), written.append)
    output = ''.join(written)
    assert output.startswith(f'Chatting about {photo}.')
    assert 'Image file not found' in output and f'New conversation about {photo}.' in output
    # After /reset only the last question remains, answered as printed.
    assert [m[0] for m in chat.messages] == [0, 1]
    assert chat.messages[0][1] == '<Img><ImageHere></Img> Hi?'
    assert output.endswith(f'MiniGPT-4: {chat.messages[1][1]}\n')
    assert output.count('MiniGPT-4: ') == 3


def test_streamed_text_is_printed_as_it_grows(tools):
    written = []
    final = tools[0].print_stream(['He', 'Hello', 'Hello #', 'Hello'], written.append)
    assert written == ['He', 'llo', ' #', '\nHello', '\n'] and final == 'Hello'


def shown(role: str, text: str) -> dict:
    """A chat history message as the demo shows ``text`` (escaped: the chatbot shows HTML)."""
    return {'role': role, 'content': html.escape(text, quote=False)}


def settings(do_sample=False, temperature=1.0, num_beams=1, max_new_tokens=6) -> tuple:
    """The demo's settings widgets, in the order of its send callback."""
    return do_sample, temperature, num_beams, max_new_tokens


def test_demo_sessions_share_the_model_not_the_conversation(chat, tools, tmp_path):
    demo = tools[1]
    photo = tmp_path / 'chelsea.png'
    Image.fromarray(real_photo('chelsea')).save(photo)
    shared_image_tokens = chat.image_tokens
    first, history, image = demo.start_conversation(chat, None, str(photo))
    assert (history, image) == ([], str(photo))  # the page shows the uploaded file
    second, _, _ = demo.start_conversation(chat, None, Image.fromarray(real_photo('coffee')))
    assert first is not second and first is not chat
    assert first.inferencer is second.inferencer is chat.inferencer
    assert first.generation_cfg == chat.generation_cfg and first.max_length == chat.max_length
    assert chat.image_tokens is shared_image_tokens  # the demo's own Chat is never used
    assert not torch.equal(first.image_tokens, second.image_tokens)
    list(demo.stream_reply(first, 'What is it?', [], *settings()))
    list(demo.stream_reply(second, 'What is it?', [], *settings()))
    list(demo.stream_reply(second, 'And its colour?', [], *settings()))
    assert [m[0] for m in first.messages] == [0, 1]
    assert [m[0] for m in second.messages] == [0, 1, 0, 1]
    # A new upload or a restart starts over in that session's Chat only.
    again, history, _ = demo.start_conversation(chat, second, str(photo))
    assert again is second and history == []
    assert second.messages == [[0, '<Img><ImageHere></Img>']]
    assert torch.equal(second.image_tokens, first.image_tokens)
    assert [m[0] for m in first.messages] == [0, 1]


def test_demo_streams_growing_histories(chat, tools):
    demo = tools[1]
    session, _, _ = demo.start_conversation(chat, None, Image.fromarray(real_photo('coffee')))
    earlier = [shown('user', 'Hi'), shown('assistant', 'Hello')]
    histories = list(demo.stream_reply(session, ' What is it? ', earlier, *settings()))
    question = shown('user', 'What is it?')
    assert histories[0] == earlier + [question]  # the question shows before the answer
    assert len(histories) > 2
    for history in histories[1:]:
        assert history[:3] == earlier + [question] and len(history) == 4
    answers = [h[-1]['content'] for h in histories[1:]]
    assert all(b.startswith(a) for a, b in zip(answers, answers[1:]))
    role, answer = session.messages[-1]
    assert role == 1 and histories[-1][-1] == shown('assistant', answer)


def test_demo_needs_an_image_and_a_question(chat, tools):
    demo = tools[1]
    no_image = [shown('user', '<b>Hi</b>'), shown('assistant', 'Please upload an image first.')]
    assert no_image[0]['content'] == '&lt;b&gt;Hi&lt;/b&gt;'  # shown as typed, not as HTML
    # A session that never uploaded has no Chat.
    assert list(demo.stream_reply(None, '   ', [], *settings())) == [[]]
    assert list(demo.stream_reply(None, '<b>Hi</b>', [], *settings())) == [no_image]
    session, history, image = demo.start_conversation(chat, None, None)
    assert (history, image, session.image_tokens) == ([], None, None)
    assert list(demo.stream_reply(session, '<b>Hi</b>', [], *settings())) == [no_image]
    assert session.messages == []


def test_demo_explains_a_file_that_is_not_an_image(chat, tools, tmp_path):
    demo = tools[1]
    photo, not_an_image = tmp_path / 'coffee.png', tmp_path / 'notes.png'
    Image.fromarray(real_photo('coffee')).save(photo)
    not_an_image.write_text('hello')
    session, _, _ = demo.start_conversation(chat, None, str(photo))
    same, history, image = demo.start_conversation(chat, session, str(not_an_image))
    assert same is session and image is None and session.image_tokens is None
    assert history == [shown('assistant', 'Cannot use notes.png: it is not an image this '
                             'demo can read (corrupt image (no image format recognised)). '
                             'Please upload a photo (JPEG, PNG, ...).')]
    _, history, _ = demo.start_conversation(chat, session, str(tmp_path / 'gone.png'))
    assert history[0]['content'].startswith('Cannot use gone.png: it is not an image this '
                                            "demo can read (Image file not found: '")


def test_demo_answers_every_setting_combination(chat, tools, tmp_path):
    demo = tools[1]
    photo = tmp_path / 'coffee.png'
    Image.fromarray(real_photo('coffee')).save(photo)
    answers = {}
    for do_sample in (False, True):
        for num_beams in (1, 3):
            session, _, _ = demo.start_conversation(chat, None, str(photo))
            histories = list(demo.stream_reply(
                session, 'What is it?', [], *settings(do_sample, 0.7, num_beams, 6)))
            assert [m[0] for m in session.messages] == [0, 1]
            assert histories[-1][-1] == shown('assistant', session.messages[-1][1])
            if num_beams > 1:  # beam search answers in one piece, after the question
                assert len(histories) == 2
            answers[do_sample, num_beams] = session.messages[-1][1]
    # Max new tokens: greedy answers of 1 and 6 tokens, the short one begins the long one.
    session, _, _ = demo.start_conversation(chat, None, str(photo))
    list(demo.stream_reply(session, 'What is it?', [], *settings(max_new_tokens=1)))
    one_token = session.messages[-1][1]
    assert one_token and answers[False, 1].startswith(one_token)
    assert len(one_token) < len(answers[False, 1])


def test_demo_refusals_and_failures_leave_the_conversation_as_before(chat, tools, tmp_path,
                                                                     monkeypatch):
    demo = tools[1]
    photo = tmp_path / 'coffee.png'
    Image.fromarray(real_photo('coffee')).save(photo)
    session, _, _ = demo.start_conversation(chat, None, str(photo))
    list(demo.stream_reply(session, 'What is it?', [], *settings()))
    before = [list(m) for m in session.messages]
    refused = list(demo.stream_reply(session, 'why ' * 3000, [], *settings()))
    assert refused[-1][-1]['content'].startswith('Not answered: The chat prompt needs')
    assert session.messages == before  # the unanswered question was withdrawn
    generate = session.model.generate

    def generate_failing(*args, streamer, **kwargs):
        streamer.put(torch.tensor([450]))  # '▁The', then the error mid-answer
        raise RuntimeError('out of memory')

    monkeypatch.setattr(session.model, 'generate', generate_failing)
    failed = list(demo.stream_reply(session, 'And its colour?', [], *settings()))
    assert failed[-2][-1] == shown('assistant', 'The')
    assert failed[-1][-1] == shown('assistant', 'Not answered: out of memory')
    assert session.messages == before
    # An answer left unfinished (the page closed mid-stream) leaves no question behind.
    monkeypatch.setattr(session.model, 'generate', generate)
    stream = demo.stream_reply(session, 'And its colour?', [], *settings())
    next(stream), next(stream)
    stream.close()
    assert session.messages == before
    list(demo.stream_reply(session, 'And its colour?', [], *settings()))
    assert [m[0] for m in session.messages] == [0, 1, 0, 1]


def test_demo_listens_locally_without_share_link(tools, monkeypatch):
    launched = {}

    class FakeDemo:
        def queue(self, **kwargs):
            launched['queue'] = kwargs
            return self

        def launch(self, **kwargs):
            launched['launch'] = kwargs

    def build_chat(args):
        launched['seed'] = args.seed
        return args.model

    demo = tools[1]
    monkeypatch.setattr(demo, 'build_chat', build_chat)
    monkeypatch.setattr(demo, 'build_demo', lambda chat: FakeDemo())
    demo.main(['minigpt-4_tiny_caption', '--seed', '3'])
    assert launched == {'seed': 3, 'queue': dict(default_concurrency_limit=1),
                        'launch': dict(server_name='127.0.0.1', server_port=7860, share=False)}


def test_seed_gives_the_same_random_weights(tools):
    chat_tool = tools[0]
    args = chat_tool.parse_args(['configs/minigpt4/minigpt-4_tiny_caption.py', 'photo.jpg',
                                 '--random-weights', '--seed', '5', '--device', 'cpu'])
    first, second = chat_tool.build_chat(args), chat_tool.build_chat(args)
    assert torch.initial_seed() == 5
    assert torch.equal(first.model.head.proj.weight, second.model.head.proj.weight)


def test_a_failed_turn_is_one_line_and_the_chat_goes_on(chat, tools, tmp_path, monkeypatch):
    photo, broken = tmp_path / 'chelsea.png', tmp_path / 'broken.png'
    Image.fromarray(real_photo('chelsea')).save(photo)
    broken.write_bytes(b'not an image')
    generate = chat.model.generate
    failures = iter([RuntimeError('out of memory\nwhile decoding')])

    def generate_failing_once(*args, streamer, **kwargs):
        for error in failures:
            streamer.put(torch.tensor([450]))  # '▁The', then the error mid-answer
            raise error
        return generate(*args, streamer=streamer, **kwargs)

    monkeypatch.setattr(chat.model, 'generate', generate_failing_once)
    written = []
    lines = ['What is it?', 'word ' * 2100, f'/image {broken}', 'Hi?', 'And its colour?']
    tools[0].chat_loop(chat, str(photo), iter(lines), written.append)
    output = ''.join(written).splitlines()
    assert output[1] == 'MiniGPT-4: The'
    assert output[2] == 'error: RuntimeError: out of memory while decoding'
    assert output[3].startswith('error: ValueError: The chat prompt needs ')
    assert output[3].endswith('ask a shorter question.')
    assert output[4].startswith('error: ') and str(broken) in output[4]
    assert [line.startswith('MiniGPT-4: ') for line in output[5:]] == [True, True]
    # The failed turns left nothing behind: the image turn, then two answered rounds.
    assert [m[0] for m in chat.messages] == [0, 1, 0, 1]
    assert chat.messages[0][1] == '<Img><ImageHere></Img> Hi?'
    assert chat.messages[2][1] == 'And its colour?'


# ---------------------------------------------------------------------- MiniGPT-v2 boxes
GROUNDED = ('<p>a cat</p> {<10><20><30><60>} on <p>a rug</p> {<0><80><20><100>}<delim>'
            '{<40><80><60><100>} near {<70><10><90><30>} and {<5><5>}')


@pytest.fixture(scope='module')
def v2_chat() -> Chat:
    torch.manual_seed(0)
    return Chat(tiny_v2_inferencer(), generation_cfg=dict(do_sample=False, max_new_tokens=6))


def script_answers(monkeypatch, chat: Chat, answers) -> None:
    """``chat.model.generate`` streams each of ``answers`` in turn, token by token."""
    answers, tokenizer = iter(answers), chat.model.tokenizer

    def generate(image_tokens, prompts, streamer=None, **settings):
        answer = next(answers)
        for token in tokenizer.encode(answer):
            streamer.put(torch.tensor([token]))
        streamer.end()
        return [answer]

    monkeypatch.setattr(chat.model, 'generate', generate)


def test_terminal_prints_and_saves_the_boxes_of_a_v2_answer(v2_chat, tools, tmp_path,
                                                           monkeypatch):
    photo = tmp_path / 'chelsea.png'  # 451 x 300
    Image.fromarray(real_photo('chelsea')).save(photo)
    script_answers(monkeypatch, v2_chat, [GROUNDED, 'A cat.', '{<10><20><30><40>}'])
    written = []
    lines = ['[grounding] describe this image in detail', '[vqa] what is it?', '[refer] the cat']
    tools[0].chat_loop(v2_chat, str(photo), iter(lines), written.append,
                       save_boxes=str(tmp_path / 'boxes'))
    output = ''.join(written).splitlines()
    first, second = str(tmp_path / 'boxes/chelsea_boxes1.png'), str(tmp_path /
                                                                    'boxes/chelsea_boxes2.png')
    assert output[1:] == [
        f'MiniGPT-4: {GROUNDED}',
        '  a cat: 45, 60, 135, 180',
        '  a rug: 0, 240, 90, 300',
        '  a rug: 180, 240, 271, 300',
        '  box: 316, 30, 406, 90',
        "  unread: malformed box '<5><5>' in '{<5><5>}': expected <x1><y1><x2><y2>",
        f'  drawn: {first}',
        'MiniGPT-4: A cat.',  # no boxes: nothing more
        'MiniGPT-4: {<10><20><30><40>}',
        '  box: 45, 60, 135, 120',
        f'  drawn: {second}']
    expected = draw_grounded_answer(real_photo('chelsea'),
                                    parse_grounded_text(GROUNDED, (451, 300)))
    assert np.array_equal(np.asarray(Image.open(first)), expected)
    assert sorted(p.name for p in (tmp_path / 'boxes').iterdir()) == ['chelsea_boxes1.png',
                                                                      'chelsea_boxes2.png']


def test_terminal_prints_no_boxes_for_minigpt4(chat, tools, tmp_path, monkeypatch):
    photo = tmp_path / 'chelsea.png'
    Image.fromarray(real_photo('chelsea')).save(photo)
    script_answers(monkeypatch, chat, [GROUNDED])
    written = []
    tools[0].chat_loop(chat, str(photo), iter(['Where is the cat?']), written.append,
                       save_boxes=str(tmp_path / 'boxes'))
    assert ''.join(written).splitlines()[1:] == [f'MiniGPT-4: {GROUNDED}']
    assert list((tmp_path / 'boxes').iterdir()) == []


def test_demo_shows_the_drawn_boxes_of_a_v2_answer_only(v2_chat, chat, tools, monkeypatch):
    demo = tools[1]
    session, _, _ = demo.start_conversation(v2_chat, None, Image.fromarray(real_photo('coffee')))
    script_answers(monkeypatch, session, [GROUNDED, 'A cup.'])
    replies = list(demo.stream_reply_with_boxes(session, '[grounding] describe it', [],
                                                *settings()))
    *streamed, (history, picture) = replies
    assert all(picture is None for _, picture in streamed)
    assert history == streamed[-1][0] and history[-1] == shown('assistant', GROUNDED)
    height, width = real_photo('coffee').shape[:2]
    assert np.array_equal(picture, draw_grounded_answer(
        real_photo('coffee'), parse_grounded_text(GROUNDED, (width, height))))
    # An answer without boxes, a refused question: no picture.
    replies = list(demo.stream_reply_with_boxes(session, '[vqa] what is it?', [], *settings()))
    assert replies[-1][0][-1] == shown('assistant', 'A cup.')
    assert all(picture is None for _, picture in replies)
    refused = list(demo.stream_reply_with_boxes(session, 'why ' * 3000, [], *settings()))
    assert refused[-1][0][-1]['content'].startswith('Not answered')
    assert all(picture is None for _, picture in refused)
    # A MiniGPT-4 answer is not read for boxes, whatever its text.
    v1_session, _, _ = demo.start_conversation(chat, None, Image.fromarray(real_photo('coffee')))
    script_answers(monkeypatch, v1_session, [GROUNDED])
    replies = list(demo.stream_reply_with_boxes(v1_session, 'Where?', [], *settings()))
    assert replies[-1][0][-1] == shown('assistant', GROUNDED)
    assert all(picture is None for _, picture in replies)
    assert list(demo.stream_reply_with_boxes(None, 'Where?', [], *settings()))[-1][1] is None
