"""``inference_model`` and the inferencers by model name, with the tiny model and real photos."""
import mmpretrain_minigpt4  # noqa: F401
import numpy as np
import pytest
import torch
from conftest import build_tiny_model, real_photo
from mmpretrain import ImageCaptionInferencer, get_model, inference_model
from PIL import Image

from mmpretrain_minigpt4.apis import MiniGPT4CaptionInferencer, MiniGPT4VQAInferencer
from mmpretrain_minigpt4.apis import read_image

CAPTION, VQA = 'minigpt-4_tiny_caption', 'minigpt-4_tiny_vqa'


@pytest.fixture(autouse=True)
def tiny_random_weights(monkeypatch):
    """Every test starts with no tiny checkpoint and the same random weights."""
    monkeypatch.delenv('MINIGPT4_TINY_CKPT', raising=False)
    torch.manual_seed(0)


@pytest.fixture(scope='module')
def captioner(image_sensitive_checkpoint):
    torch.manual_seed(0)
    return MiniGPT4CaptionInferencer(CAPTION, pretrained=image_sensitive_checkpoint,
                                     generation_cfg=dict(max_new_tokens=8))


@pytest.fixture(scope='module')
def image_sensitive_checkpoint(tmp_path_factory) -> str:
    """Tiny weights whose captions depend on the image (the random Q-Former barely looks)."""
    torch.manual_seed(0)
    model = get_model(CAPTION)
    state = {}
    for name, value in model.named_parameters():
        if name.startswith('llm.'):
            continue
        if 'crossattention' in name and name.endswith('weight') and 'LayerNorm' not in name:
            value = value * 30
        state[name] = value * 20 if name == 'head.proj.weight' else value
    path = str(tmp_path_factory.mktemp('tiny') / 'image_sensitive.pth')
    torch.save({'state_dict': state}, path)
    return path


def bgr(name: str) -> np.ndarray:
    return np.ascontiguousarray(real_photo(name)[..., ::-1])


def test_inference_model_by_name_returns_a_caption():
    result = inference_model(CAPTION, bgr('astronaut'), generation_cfg=dict(max_new_tokens=5))
    assert set(result) == {'pred_caption'}
    assert isinstance(result['pred_caption'], str) and result['pred_caption']


def test_a_list_gives_one_result_per_image_in_order(image_sensitive_checkpoint, monkeypatch):
    monkeypatch.setenv('MINIGPT4_TINY_CKPT', image_sensitive_checkpoint)
    photos = [bgr('astronaut'), bgr('chelsea'), bgr('coffee')]
    torch.manual_seed(0)
    batched = inference_model(CAPTION, photos, batch_size=2, generation_cfg=dict(max_new_tokens=6))
    torch.manual_seed(0)
    inferencer = MiniGPT4CaptionInferencer(CAPTION, generation_cfg=dict(max_new_tokens=6))
    one_by_one = [inferencer(photo)[0] for photo in photos]
    assert isinstance(batched, list) and len(batched) == 3
    assert batched == one_by_one
    assert len({r['pred_caption'] for r in batched}) == 3  # so the order is checked too


def test_a_directory_gives_a_list(tmp_path):
    for name in ('rocket', 'coffee'):
        Image.fromarray(real_photo(name)).save(tmp_path / f'{name}.png')
    results = inference_model(CAPTION, str(tmp_path), generation_cfg=dict(max_new_tokens=2))
    assert len(results) == 2 and all(isinstance(r['pred_caption'], str) for r in results)


def test_vqa_by_name_returns_the_question_and_an_answer():
    result = inference_model(VQA, bgr('coffee'), 'What is in the cup?',
                             generation_cfg=dict(max_new_tokens=5))
    assert result['question'] == 'What is in the cup?'
    assert isinstance(result['pred_answer'], str) and result['pred_answer']
    results = inference_model(VQA, [bgr('coffee'), bgr('rocket')], ['Is it hot?', 'Is it tall?'],
                              generation_cfg=dict(max_new_tokens=3))
    assert [r['question'] for r in results] == ['Is it hot?', 'Is it tall?']


def test_vqa_rejects_unpaired_images_and_questions():
    inferencer = MiniGPT4VQAInferencer(VQA, generation_cfg=dict(max_new_tokens=2))
    with pytest.raises(ValueError, match='same length'):
        inferencer([bgr('coffee'), bgr('rocket')], ['only one?'])


def test_inputs_are_checked_before_any_image_is_read(monkeypatch):
    inferencer = MiniGPT4VQAInferencer(VQA, generation_cfg=dict(max_new_tokens=2))

    def never(*args, **kwargs):
        raise AssertionError('preprocessing started before the inputs were checked')
    monkeypatch.setattr(inferencer, 'preprocess', never)
    for batch_size in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=f'batch_size must be an integer >= 1, got '
                           f'{batch_size!r}'):
            inferencer([bgr('coffee')], ['Is it hot?'], batch_size=batch_size)
    with pytest.raises(ValueError, match='Question 1: The question is empty'):
        inferencer([bgr('coffee'), bgr('rocket')], ['Is it hot?', ' '])
    with pytest.raises(ValueError, match="more than the LLM's context"):
        inferencer(bgr('coffee'), 'word ' * 3000)
    with pytest.raises(ValueError, match="'temprature' is not a supported generation setting"):
        inference_model(VQA, bgr('coffee'), 'Is it hot?', generation_cfg=dict(temprature=1.0))


def test_path_pil_and_bgr_array_give_the_same_caption(captioner, tmp_path):
    photo = real_photo('chelsea')
    path = tmp_path / 'chelsea.png'
    Image.fromarray(photo).save(path)
    from_path = captioner(str(path))[0]
    assert captioner(Image.fromarray(photo))[0] == from_path
    assert captioner(bgr('chelsea'))[0] == from_path
    # An RGB array is read as BGR (mmcv's convention): a different image.
    assert captioner(photo)[0] != from_path


def test_bad_images_give_clear_errors(captioner, tmp_path):
    text_file = tmp_path / 'notes.jpg'
    text_file.write_text('not an image')
    with pytest.raises(ValueError, match=r'notes.jpg: corrupt image \(no image format'):
        captioner(str(text_file))
    with pytest.raises(FileNotFoundError, match='Image file not found'):
        inference_model(CAPTION, str(tmp_path / 'missing.jpg'))
    for array, message in [
            (np.zeros((8, 8, 3), np.float32), r'must be uint8 \(0-255\), got float32'),
            (np.zeros((8, 8, 3), np.uint16), 'must be uint8'),
            (np.zeros((0, 8, 3), np.uint8), r'empty image \(shape \(0, 8, 3\)\)'),
            (np.zeros((8, 8, 5), np.uint8), r'\(H, W, 3\) BGR'),
            (np.zeros((2, 8, 8, 3), np.uint8), r'got shape \(2, 8, 8, 3\)')]:
        with pytest.raises(ValueError, match=message):
            captioner(array)
    with pytest.raises(TypeError, match='path, a PIL image or a numpy array'):
        read_image(3.14)


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match='Did you mean') as error:
        inference_model('minigpt-4_vicuna7b_captoin', bgr('astronaut'))
    assert "'minigpt-4_vicuna-7b_caption'" in str(error.value)


def test_missing_checkpoint_names_the_file_and_variable_before_building(tmp_path, monkeypatch):
    monkeypatch.setenv('MINIGPT4_VICUNA_7B_CKPT', str(tmp_path / 'minigpt4_7b.pth'))
    with pytest.raises(FileNotFoundError) as error:
        inference_model('minigpt-4_vicuna-7b_caption', bgr('astronaut'))
    message = str(error.value)
    assert 'minigpt4_7b.pth' in message and '$MINIGPT4_VICUNA_7B_CKPT' in message
    assert 'prerained_minigpt4_7b.pth' in message and 'tools/model_converters' in message
    # mmpretrain's own entry points read the same entry.
    with pytest.raises(FileNotFoundError, match='MINIGPT4_VICUNA_7B_CKPT'):
        ImageCaptionInferencer('minigpt-4_vicuna-7b_caption')


def test_missing_llm_directory_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv('MINIGPT4_LLAMA2_CHAT_7B', str(tmp_path / 'Llama-2-7b-chat-hf'))
    with pytest.raises(FileNotFoundError) as error:
        inference_model('minigpt-4_llama2-7b_vqa', bgr('astronaut'), 'Who?', pretrained=False)
    message = str(error.value)
    assert 'Llama-2-7b-chat-hf' in message and '$MINIGPT4_LLAMA2_CHAT_7B' in message
    with pytest.raises(FileNotFoundError, match='nowhere'):
        inference_model('minigpt-4_llama2-7b_vqa', bgr('astronaut'), 'Who?', pretrained=False,
                        llm=dict(name_or_path=str(tmp_path / 'nowhere')))


def _save_tiny_checkpoint(path, seed: int) -> dict:
    """What the converter writes: every weight but the LLM's, under 'state_dict'."""
    torch.manual_seed(seed)
    model = get_model(CAPTION)
    state = {name: value for name, value in model.named_parameters() if not name.startswith('llm.')}
    torch.save({'state_dict': state}, path)
    return state


def _assert_loaded(model, state: dict) -> None:
    parameters = dict(model.named_parameters())
    for name in ('head.proj.weight', 'vision_encoder.cls_token', 'ln_vision.weight',
                 'neck.query_tokens'):
        assert torch.equal(parameters[name], state[name]), name


def test_local_checkpoint_from_the_environment_and_per_call(tmp_path, monkeypatch):
    from_env = _save_tiny_checkpoint(tmp_path / 'env.pth', seed=1)
    per_call = _save_tiny_checkpoint(tmp_path / 'call.pth', seed=2)
    monkeypatch.setenv('MINIGPT4_TINY_CKPT', str(tmp_path / 'env.pth'))
    _assert_loaded(MiniGPT4CaptionInferencer(CAPTION).model, from_env)
    _assert_loaded(get_model(CAPTION, pretrained=True), from_env)
    _assert_loaded(MiniGPT4VQAInferencer(VQA, pretrained=str(tmp_path / 'call.pth')).model,
                   per_call)
    assert isinstance(inference_model(CAPTION, bgr('rocket'),
                                      generation_cfg=dict(max_new_tokens=2))['pred_caption'], str)
    monkeypatch.setenv('MINIGPT4_TINY_CKPT', str(tmp_path / 'gone.pth'))
    with pytest.raises(FileNotFoundError, match=r'gone\.pth.*\$MINIGPT4_TINY_CKPT'):
        inference_model(CAPTION, bgr('rocket'))


def test_built_models_by_metainfo():
    model = get_model(CAPTION, generation_cfg=dict(max_new_tokens=2))
    assert len(inference_model(model, [bgr('rocket')])) == 1
    # Built without a name (no metainfo): mmpretrain's own behaviour.
    with pytest.raises(NotImplementedError, match='No available inferencer'):
        inference_model(build_tiny_model(), bgr('rocket'))


def test_drawn_results_keep_their_colours(tmp_path):
    photo = real_photo('coffee')
    inferencer = MiniGPT4VQAInferencer(VQA, pretrained=False,
                                       generation_cfg=dict(max_new_tokens=2))
    inferencer([Image.fromarray(photo), bgr('coffee')], ['Hot?', 'Cold?'],
               show_dir=str(tmp_path))
    for name in ('0.png', '1.png'):
        drawn = np.asarray(Image.open(tmp_path / name).convert('RGB'))
        assert drawn.shape == photo.shape
        # A corner far from the drawn text keeps the photo's RGB values.
        assert np.array_equal(drawn[-20:, -20:], photo[-20:, -20:])
