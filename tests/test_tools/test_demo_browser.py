"""tools/demo_gradio.py served on the tiny model and driven in headless Chromium.

Two servers for the file, started together: the tiny MiniGPT-4, whose answers the
pages show are compared with those of :class:`Chat` in this process on the same
tiny model (the same seeded random weights, greedy decoding), and the tiny
MiniGPT-v2 with scripted answers (its random LLM writes no boxes), for the drawn
boxes. Every browser context is a separate gradio session.
"""
import io
import os
import os.path as osp
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, load_script, real_photo
from PIL import Image

from mmpretrain_minigpt4.apis import Chat
from mmpretrain_minigpt4.grounding import parse_grounded_text
from mmpretrain_minigpt4.visualization import PHRASE_COLOURS, draw_grounded_answer

CHROMIUM = '/usr/bin/chromium'  # Debian's: playwright cannot download its own here
# Without the background-networking flags Chromium's start-up connections are refused
# by an offline machine.
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update',
                 '--disable-sync']
MODEL_ARGS = ['configs/minigpt4/minigpt-4_tiny_caption.py', '--random-weights', '--greedy',
              '--max-new-tokens', '60']
SEED = '0'
STEP_TIMEOUT_MS = 30_000  # every page wait; a hang fails the test
NO_IMAGE = 'Please upload an image first.'
ASK = 'Ask about the image and press Enter'

# Records, after every change of the page, the number of answers and the last one's
# text, whenever they differ from the previous record: the stream as the page showed it.
RECORD_ANSWERS = """() => {
    window.answerStates = [];
    new MutationObserver(() => {
        const answers = document.querySelectorAll('[data-testid=bot]');
        const state = [answers.length, answers.length ? answers[answers.length - 1].textContent
                                                      : ''];
        const last = window.answerStates[window.answerStates.length - 1];
        if (!last || last[0] !== state[0] || last[1] !== state[1])
            window.answerStates.push(state);
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, server: subprocess.Popen, log_path: str,
                       timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, open(log_path).read()[-3000:]
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f'The demo did not serve {url} within {timeout} s:\n'
                         + open(log_path).read()[-3000:])


# One process serves both demos (one interpreter, torch and gradio import instead of
# two): the MiniGPT-v2 demo on the tiny v2 model, whose generate streams a scripted
# answer per task token of the last question, in gradio's threads; then the MiniGPT-4
# demo by tools/demo_gradio.py's command line. Arguments: the two ports.
V2_ANSWERS = {'[grounding]': '<p>an astronaut</p> {<10><5><60><95>} and <p>a rocket</p> '
                             '{<70><0><90><50>}',
              '[vqa]': 'An astronaut.'}
SERVERS = f"""
import sys
sys.path[:0] = ['tools', 'tests', 'tests/test_apis']
import torch
import demo_gradio
from test_chat import tiny_v2_inferencer
from mmpretrain_minigpt4.apis import Chat

v1_port, v2_port = sys.argv[1:]
v2_chat = Chat(tiny_v2_inferencer())

def scripted_generate(image_tokens, prompts, streamer=None, **settings):
    question = prompts[0].rsplit('[INST]', 1)[-1]
    answer = next(a for token, a in {V2_ANSWERS!r}.items() if token in question)
    for token in v2_chat.model.tokenizer.encode(answer):
        streamer.put(torch.tensor([token]))
    streamer.end()
    return [answer]

v2_chat.model.generate = scripted_generate
demo_gradio.build_demo(v2_chat).queue(default_concurrency_limit=1).launch(
    server_name='127.0.0.1', server_port=int(v2_port), share=False, prevent_thread_lock=True)
demo_gradio.main([*{MODEL_ARGS!r}, '--seed', {SEED!r}, '--host', '127.0.0.1', '--port', v1_port])
"""


@pytest.fixture(scope='module')
def demo_servers(tmp_path_factory):
    """``{'v1': url, 'v2': url}``: the two demos on free loopback ports; killed at the end."""
    ports = {'v1': free_port(), 'v2': free_port()}
    log_path = str(tmp_path_factory.mktemp('demo') / 'servers.log')
    env = {**os.environ, 'GRADIO_ANALYTICS_ENABLED': 'False', 'HF_HUB_OFFLINE': '1',
           'CUDA_VISIBLE_DEVICES': ''}
    with open(log_path, 'w') as log:
        server = subprocess.Popen(
            [sys.executable, '-c', SERVERS, str(ports['v1']), str(ports['v2'])],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        urls = {name: f'http://127.0.0.1:{port}/' for name, port in ports.items()}
        for url in urls.values():
            wait_until_serving(url, server, log_path)
        yield urls
    finally:
        server.kill()
        server.wait(timeout=30)


@pytest.fixture(scope='module')
def demo_url(demo_servers):
    """The MiniGPT-4 demo."""
    return demo_servers['v1']


@pytest.fixture(scope='module')
def shared_chat():
    """The server's Chat, built here: the same arguments and seed give the same weights."""
    chat_tool = load_script('tools/chat.py')
    torch.manual_seed(int(SEED))
    return chat_tool.build_chat(chat_tool.parse_args([*MODEL_ARGS, 'unused.jpg']))


def new_chat(shared_chat: Chat, image: str) -> Chat:
    chat = Chat(shared_chat.inferencer, max_length=shared_chat.max_length,
                generation_cfg=shared_chat.generation_cfg)
    chat.upload_image(image)
    return chat


def as_shown(text: str) -> str:
    """``text`` as a page shows it: HTML turns carriage returns into line feeds."""
    return text.replace('\r\n', '\n').replace('\r', '\n')


def expected_answer(chat: Chat, question: str, **settings) -> str:
    """The answer as the page should show it."""
    chat.ask(question)
    return as_shown(chat.answer(**settings))


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    """Two real photos, a text file named .png and a text file."""
    folder = tmp_path_factory.mktemp('uploads')
    paths = {}
    for name in ('astronaut', 'coffee'):
        paths[name] = str(folder / f'{name}.png')
        Image.fromarray(real_photo(name)).save(paths[name])
    for name in ('notes.png', 'notes.txt'):
        paths[name] = str(folder / name)
        with open(paths[name], 'w') as f:
            f.write('shopping list: milk, bread\n')
    return paths


@pytest.fixture(scope='module')
def browser():
    from playwright.sync_api import sync_playwright
    assert osp.isfile(CHROMIUM), ("Debian's chromium is needed (apt-get install chromium; "
                                  'tools/run_tests.sh installs it)')
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_session(browser, demo_url):
    """``open_session(url=demo_url)``: a new browser session of a demo (closed after the
    test)."""
    contexts = []

    def open_one(url: str = demo_url) -> DemoPage:
        contexts.append(browser.new_context(viewport=dict(width=1280, height=900)))
        return DemoPage(contexts[-1], url)

    yield open_one
    for context in contexts:
        context.close()


class DemoPage:
    """One browser session of the demo, in a browser context of its own."""

    def __init__(self, context, url: str):
        from playwright.sync_api import expect
        self.expect = expect
        context.set_default_timeout(STEP_TIMEOUT_MS)
        self.page = context.new_page()
        self.page.goto(url, wait_until='domcontentloaded')
        self.question = self.page.get_by_placeholder(ASK)
        self.expect(self.question).to_be_visible()
        self.page.evaluate(RECORD_ANSWERS)

    def answers(self) -> list:
        return self.page.locator('[data-testid=bot]').all_text_contents()

    def questions(self) -> list:
        return self.page.locator('[data-testid=user]').all_text_contents()

    def shown_image(self) -> str:
        """The file name of the image the page shows ('' for none)."""
        images = self.page.locator('img[src*="/gradio_api/file="]')
        if images.count() == 0:
            return ''
        return images.first.get_attribute('src').rsplit('/', 1)[-1]

    def upload(self, path: str) -> None:
        self.page.locator('input[type=file]').set_input_files(path)

    def upload_photo(self, path: str) -> None:
        self.upload(path)
        self.expect(self.page.locator(f'img[src$="/{osp.basename(path)}"]')).to_be_visible()
        self.expect(self.page.locator('[data-testid=bot]')).to_have_count(0)

    def submit(self, question: str) -> int:
        """Send ``question``; returns the number of answers it will make."""
        count = len(self.answers()) + 1
        self.question.fill(question)
        self.question.press('Enter')
        return count

    def wait_for_answer(self, count: int) -> str:
        """The ``count``-th answer, once whole (the question box is emptied after it)."""
        self.expect(self.question).to_have_value('')
        self.expect(self.page.locator('[data-testid=bot]')).to_have_count(count)
        return self.answers()[-1]

    def ask(self, question: str) -> str:
        return self.wait_for_answer(self.submit(question))

    def shown_states(self, answer_number: int) -> list:
        """The texts the page showed for its ``answer_number``-th answer (1-based), from
        the first non-empty one (a message appears empty, then is filled)."""
        states = self.page.evaluate('window.answerStates')
        return [text for count, text in states if count == answer_number and text]

    def restart(self, button: str = 'Restart the conversation') -> None:
        self.page.get_by_role('button', name=button, exact=True).click()
        self.expect(self.page.locator('[data-testid=user]')).to_have_count(0)
        self.expect(self.page.locator('[data-testid=bot]')).to_have_count(0)

    def boxes_picture(self) -> np.ndarray:
        """The picture of the answer's boxes the page shows, as RGB pixels from the server."""
        image = self.page.locator('#answer-boxes img')
        self.expect(image).to_be_visible()
        url = urllib.parse.urljoin(self.page.url, image.get_attribute('src'))
        body = self.page.request.get(url).body()
        return np.asarray(Image.open(io.BytesIO(body)).convert('RGB'))

    def set_setting(self, label: str, value) -> None:
        number = self.page.get_by_label(f'number input for {label}')
        number.fill(str(value))
        number.press('Tab')
        self.expect(self.page.get_by_label(f'range slider for {label}')).to_have_value(
            str(value))


def test_each_session_has_its_own_conversation_and_image(open_session, shared_chat, photos):
    first = open_session()
    first.upload_photo(photos['astronaut'])
    astronaut_chat = new_chat(shared_chat, photos['astronaut'])
    astronaut_chat.ask('What is in the picture?')
    streamed = [as_shown(text) for text in astronaut_chat.stream_answer()]
    first_answer = first.ask('What is in the picture?')
    assert first_answer and first_answer == streamed[-1]
    first.expect(first.page.locator('#answer-boxes')).to_be_hidden()  # MiniGPT-4: no boxes
    # The answer streamed: the page showed it growing, token by token, before it was whole.
    shown = first.shown_states(1)
    assert shown[-1] == first_answer
    assert len(set(shown[:-1])) >= 3 and set(shown[:-1]) <= set(streamed[:-1])

    # A session that never uploaded is not answered about the first session's image.
    second = open_session()
    assert second.ask('What is in the picture?') == NO_IMAGE
    assert second.shown_image() == ''

    # An upload in the second session leaves the first session's image and chat alone.
    second.upload_photo(photos['coffee'])
    assert (first.shown_image(), first.answers()) == ('astronaut.png', [first_answer])
    coffee_chat = new_chat(shared_chat, photos['coffee'])
    coffee_answer = expected_answer(coffee_chat, 'What is in the picture?')
    assert second.ask('What is in the picture?') == coffee_answer != first_answer
    # The first session goes on with its own image and conversation.
    follow_up = expected_answer(astronaut_chat, 'What colour is it?')
    assert first.ask('What colour is it?') == follow_up
    assert first.questions() == ['What is in the picture?', 'What colour is it?']

    # Restart clears the second session only, and keeps its image.
    second.restart()
    assert second.shown_image() == 'coffee.png'
    assert first.answers() == [first_answer, follow_up]
    assert second.ask('What is in the picture?') == coffee_answer
    assert first.answers() == [first_answer, follow_up]
    assert first.shown_image() == 'astronaut.png'
    # So does the chatbot's own clear button, in the first session.
    first.restart('Clear')
    assert first.ask('What is in the picture?') == first_answer
    assert second.answers() == [coffee_answer]

    # Questions sent together are answered one after another, each in its own session.
    expected = []
    for image, answer in (('astronaut', first_answer), ('coffee', coffee_answer)):
        chat = new_chat(shared_chat, photos[image])
        assert expected_answer(chat, 'What is in the picture?') == answer
        expected.append(expected_answer(chat, 'And the background?'))
    counts = first.submit('And the background?'), second.submit('And the background?')
    assert [first.wait_for_answer(counts[0]), second.wait_for_answer(counts[1])] == expected
    assert first.answers() == [first_answer, expected[0]]
    assert second.answers() == [coffee_answer, expected[1]]


def test_non_image_uploads_are_explained_in_the_page(open_session, shared_chat, photos):
    session = open_session()
    session.upload_photo(photos['astronaut'])
    # A file that does not even claim to be an image is refused by the upload button
    # (gradio 6.17: 'Invalid file type only image allowed.'; 6.31 names the file) ...
    session.upload(photos['notes.txt'])
    refusal = re.compile(r'^Invalid file type\b.*\bonly image allowed\.$', re.IGNORECASE)
    session.expect(session.page.get_by_text(refusal)).to_be_visible()
    # ... and the session goes on about its image.
    assert session.shown_image() == 'astronaut.png'
    expected = expected_answer(new_chat(shared_chat, photos['astronaut']),
                               'What is in the picture?')
    assert session.ask('What is in the picture?') == expected
    # A file named like an image that is not one is explained in the chat.
    session.upload(photos['notes.png'])
    session.expect(session.page.locator('[data-testid=bot]')).to_have_text(
        'Cannot use notes.png: it is not an image this demo can read (corrupt image (no '
        'image format recognised)). Please upload a photo (JPEG, PNG, ...).')
    assert session.shown_image() == '' and session.questions() == []
    # The earlier image is gone with it: the next question is not answered about it.
    assert session.ask('What is in the picture?') == NO_IMAGE


def test_every_setting_combination_answers(open_session, shared_chat, photos):
    session = open_session()
    session.upload_photo(photos['coffee'])
    chat = new_chat(shared_chat, photos['coffee'])
    session.set_setting('Max new tokens', 12)
    session.set_setting('Beams', 3)
    beam_answer = session.ask('What is in the picture?')
    assert beam_answer == expected_answer(chat, 'What is in the picture?', num_beams=3,
                                          max_new_tokens=12)
    assert session.shown_states(1) == [beam_answer]  # beam search answers in one piece
    # Beams with sampling (and a temperature) answer too, in one piece.
    session.page.get_by_label('Sample (off: greedy or beam search)').check()
    session.set_setting('Temperature (sampling)', 0.7)
    sampled = session.ask('Describe it in detail.')
    assert sampled and not sampled.startswith('Not answered')
    assert session.shown_states(2) == [sampled]
    # Sampling with one beam answers too.
    session.set_setting('Beams', 1)
    streamed = session.ask('And the colours?')
    assert streamed and not streamed.startswith('Not answered')
    assert session.shown_states(3)[-1] == streamed
    assert session.questions() == ['What is in the picture?', 'Describe it in detail.',
                                   'And the colours?']


def test_v2_answers_with_boxes_show_them_drawn(open_session, demo_servers, photos):
    session = open_session(demo_servers['v2'])
    # The official v2 demo's settings.
    for label, value in (('Temperature (sampling)', '0.6'), ('Max new tokens', '500')):
        session.expect(session.page.get_by_label(f'number input for {label}')).to_have_value(
            value)
    session.upload_photo(photos['astronaut'])  # 512 x 512
    boxes = session.page.locator('#answer-boxes')
    grounded = V2_ANSWERS['[grounding]']
    assert session.ask('[grounding] describe this image in detail') == grounded
    picture = session.boxes_picture()
    assert np.array_equal(picture, draw_grounded_answer(
        real_photo('astronaut'), parse_grounded_text(grounded, (512, 512))))
    assert tuple(picture[256, 51]) == PHRASE_COLOURS[0]  # the astronaut's left edge (x 10 %)
    # An answer without boxes takes the picture away; so does a restart.
    assert session.ask('[vqa] what is it?') == V2_ANSWERS['[vqa]']
    session.expect(boxes).to_be_hidden()
    session.ask('[grounding] describe this image in detail')
    session.expect(boxes).to_be_visible()
    session.restart()
    session.expect(boxes).to_be_hidden()
