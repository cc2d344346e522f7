"""tools/chat.py (terminal) and tools/demo_gradio.py's streaming callbacks, without gradio."""
import importlib
import os.path as osp

import pytest
import torch
from conftest import REPO_ROOT, real_photo
from PIL import Image


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


def test_command_line_sets_decoding_and_weights(chat, tools):
    assert chat.generation_cfg['do_sample'] is False
    assert chat.generation_cfg['max_new_tokens'] == 6 and chat.max_length == 2000
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


def test_demo_streams_growing_histories(chat, tools):
    demo = tools[1]
    assert demo.start_conversation(chat, Image.fromarray(real_photo('coffee'))) == []
    earlier = [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello'}]
    histories = list(demo.stream_reply(chat, ' What is it? ', earlier, 1.0, 1))
    assert len(histories) > 1
    for history in histories:
        assert history[:3] == earlier + [{'role': 'user', 'content': 'What is it?'}]
    answers = [h[-1]['content'] for h in histories]
    assert all(b.startswith(a) for a, b in zip(answers, answers[1:]))
    assert chat.messages[-1] == [1, answers[-1]]


def test_demo_needs_an_image_and_a_question(chat, tools):
    demo = tools[1]
    assert list(demo.stream_reply(chat, '   ', [], 1.0, 1)) == [[]]
    assert demo.start_conversation(chat, None) == [] and chat.image_tokens is None
    assert list(demo.stream_reply(chat, 'Hi', [], 1.0, 1)) == [[
        {'role': 'user', 'content': 'Hi'},
        {'role': 'assistant', 'content': 'Please upload an image first.'}]]


def test_demo_answers_every_slider_combination_and_refusals_in_the_page(chat, tools,
                                                                         tmp_path):
    demo = tools[1]
    not_an_image = tmp_path / 'notes.png'
    not_an_image.write_text('hello')
    shown = demo.start_conversation(chat, str(not_an_image))
    assert 'This file cannot be used' in shown[0]['content'] and chat.image_tokens is None
    photo = tmp_path / 'coffee.png'
    Image.fromarray(real_photo('coffee')).save(photo)
    assert demo.start_conversation(chat, str(photo)) == []  # the demo hands over file paths
    beams = list(demo.stream_reply(chat, 'What is it?', [], 0.7, 3))
    assert len(beams) == 1 and chat.messages[-1] == [1, beams[0][-1]['content']]
    before = [list(m) for m in chat.messages]
    refused = list(demo.stream_reply(chat, 'why ' * 3000, [], 1.0, 1))
    assert refused[-1][-1]['content'].startswith('Not answered: The chat prompt needs')
    assert chat.messages == before  # the unanswered question was withdrawn


def test_demo_listens_locally_without_share_link(tools, monkeypatch):
    launched = {}

    class FakeDemo:
        def queue(self, **kwargs):
            launched['queue'] = kwargs
            return self

        def launch(self, **kwargs):
            launched['launch'] = kwargs

    demo = tools[1]
    monkeypatch.setattr(demo, 'build_chat', lambda args: args.model)
    monkeypatch.setattr(demo, 'build_demo', lambda chat: FakeDemo())
    demo.main(['minigpt-4_tiny_caption'])
    assert launched == {'queue': dict(default_concurrency_limit=1),
                        'launch': dict(server_name='127.0.0.1', server_port=7860, share=False)}


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
