"""The low-memory switches users find: ``--quantization`` / ``--low-resource`` in the chat
(also the demo's and the server's) and tools/test.py, the ``*_8bit.py`` / ``*_4bit.py``
configs, and a quantized tiny chat end to end on CPU."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from PIL import Image

from conftest import REPO_ROOT, build_tiny_model, load_script, real_photo

chat_tool = load_script('tools/chat.py')
test_tool = load_script('tools/test.py')
MODEL_CONFIGS = osp.join(REPO_ROOT, 'configs/minigpt4/_base_/models')


@pytest.mark.parametrize('argv, expected', [
    (['--quantization', '4bit', '--device', 'cpu'],
     dict(vision_dtype='float16', llm=dict(quantization='4bit', device_map={'': 'cpu'}))),
    (['--low-resource'], dict(vision_dtype='float16', llm=dict(quantization='8bit'))),
    (['--low-resource', '--llm', '/data/vicuna'],
     dict(vision_dtype='float16', llm=dict(quantization='8bit', name_or_path='/data/vicuna'))),
    (['--llm', '/data/vicuna'], dict(llm=dict(name_or_path='/data/vicuna'))),
    ([], dict()),
])
def test_chat_options_become_model_overrides(argv, expected):
    args = chat_tool.parse_args(['minigpt-4_vicuna-7b_caption', 'cat.jpg', *argv])
    assert chat_tool.model_overrides_of(args) == expected


def test_quantization_and_low_resource_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        chat_tool.parse_args(['m', 'cat.jpg', '--low-resource', '--quantization', '4bit'])
    assert 'not allowed with argument' in capsys.readouterr().err


@pytest.mark.parametrize('flag, mode', [(['--low-resource'], '8bit'),
                                        (['--quantization', '4bit'], '4bit')])
def test_test_tool_applies_the_quantization_to_the_model(flag, mode):
    config = osp.join(REPO_ROOT, 'configs/minigpt4/evaluation/minigpt4_vicuna-7b_okvqa.py')
    args = test_tool.parse_args([config, 'none', *flag])
    cfg = test_tool.merge_args(Config.fromfile(config), args)
    assert cfg.model.llm.quantization == mode and cfg.model.vision_dtype == 'float16'
    assert cfg.model.llm.name_or_path.endswith('vicuna-7b')  # the rest of model.llm is kept


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(MODEL_CONFIGS, '*_[48]bit.py'))))
def test_quantized_configs_differ_from_their_base_in_the_switch_only(path):
    mode = osp.basename(path)[-7:-3]
    base = path[:-len('_8bit.py')] + '.py'
    quantized, plain = Config.fromfile(path).model.to_dict(), Config.fromfile(base).model.to_dict()
    assert quantized.pop('vision_dtype') == 'float16'
    assert quantized['llm'].pop('quantization') == mode
    assert quantized == plain
    assert len(glob.glob(osp.join(MODEL_CONFIGS, '*_[48]bit.py'))) == 8


@pytest.fixture(scope='module')
def quantized_tiny_config(tmp_path_factory):
    """The tiny caption config with its LLM in a directory (quantization loads from one)."""
    pytest.importorskip('bitsandbytes', reason='bitsandbytes is not installed')
    directory = tmp_path_factory.mktemp('tiny_quantized')
    build_tiny_model(0).llm.save_pretrained(str(directory / 'llm'))
    config = directory / 'tiny_caption_llm_dir.py'
    config.write_text(
        f"_base_ = ['{REPO_ROOT}/configs/minigpt4/minigpt-4_tiny_caption.py']\n"
        f"model = dict(llm=dict(_delete_=True, type='HFCausalLM', "
        f"name_or_path='{directory / 'llm'}', dtype='float32'))\n")
    return str(config)


def test_low_resource_chat_runs_quantized_on_cpu(quantized_tiny_config, tmp_path):
    import bitsandbytes as bnb
    image = tmp_path / 'cat.png'
    Image.fromarray(real_photo('chelsea')).save(image)
    args = chat_tool.parse_args([quantized_tiny_config, str(image), '--random-weights',
                                 '--low-resource', '--device', 'cpu', '--greedy',
                                 '--max-new-tokens', '5', '--seed', '0'])
    chat = chat_tool.build_chat(args)
    model = chat.model
    assert sum(isinstance(m, bnb.nn.Linear8bitLt) for m in model.llm.modules()) == 14
    assert model.vision_encoder.patch_embed.proj.weight.dtype == torch.float16
    assert model.ln_vision.weight.dtype == torch.float32
    chat.upload_image(str(image))
    chat.ask('What is in the picture?')
    assert isinstance(chat.answer(), str)


def test_vision_dtype_casts_the_vit_and_is_checked():
    model = build_tiny_model(0, vision_dtype='bfloat16')
    assert {p.dtype for p in model.vision_encoder.parameters()} == {torch.bfloat16}
    with torch.no_grad():
        tokens = model.extract_image_tokens(torch.randn(1, 3, 224, 224))
    assert tokens.dtype == torch.float32 and torch.isfinite(tokens).all()
    with pytest.raises(ValueError, match="model.vision_dtype must be 'float16', 'bfloat16'"):
        build_tiny_model(0, vision_dtype='int8')
