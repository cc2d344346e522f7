"""MiniGPT-v2 by ModelHub name: every task's prompt, boxes returned in pixels of the input
image (``inference_model(<v2 refer name>, img, 'the cat')``), and boxes drawn by ``show_dir``.

The tiny random model babbles, so generation is scripted where a box must come back; the
real pipeline, prompts and box reading run."""
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image
from mmpretrain import ModelHub, list_models

from conftest import real_photo

from mmpretrain_minigpt4.apis import MiniGPT4GroundingInferencer, inference_model
from mmpretrain_minigpt4.apis.model_hub import LocalWeightsModel
from mmpretrain_minigpt4.models.minigpt4 import MiniGPT4

TASKS = {
    # name suffix -> (ModelHub task, the prompt of 'the cat' / no text)
    'caption': ('Image Caption', '<s>[INST] <Img><ImageHere></Img> [caption] Briefly describe '
                                 'this image. [/INST]'),
    'vqa': ('Visual Question Answering', '<s>[INST] <Img><ImageHere></Img> [vqa] the cat [/INST]'),
    'refer': ('Visual Grounding', '<s>[INST] <Img><ImageHere></Img> [refer] give me the location '
                                  'of the cat [/INST]'),
    'grounded-caption': ('Image Caption', '<s>[INST] <Img><ImageHere></Img> [grounding] describe '
                                          'this image in detail [/INST]'),
    'detection': ('Visual Grounding', '<s>[INST] <Img><ImageHere></Img> [detection] the cat '
                                      '[/INST]'),
}


@pytest.fixture(autouse=True)
def tiny_random_weights(monkeypatch):
    monkeypatch.delenv('MINIGPTV2_TINY_CKPT', raising=False)
    torch.manual_seed(0)


@pytest.fixture
def scripted_answers(monkeypatch):
    """Generation returns the given texts (in order) and records the prompts."""
    calls = dict(answers=[], prompts=[])

    def generate(self, image_tokens, prompts, **kwargs):
        assert image_tokens.shape[1] == 256  # 448 px, 4 tokens merged
        calls['prompts'] += list(prompts)
        return [calls['answers'].pop(0) for _ in prompts]

    monkeypatch.setattr(MiniGPT4, 'generate', generate)
    return calls


def test_every_v2_name_is_listed_with_its_task():
    for size in ('llama2-7b', 'tiny'):
        for suffix, (task, _) in TASKS.items():
            name = f'minigpt-v2_{size}_{suffix}'
            assert name in list_models('minigpt-v2*', task=task)
            metainfo = ModelHub.get(name)
            assert isinstance(metainfo, LocalWeightsModel)
            pipeline = metainfo.config.test_dataloader.dataset.pipeline
            assert pipeline[1]['scale'] == (448, 448)
            assert 'ori_shape' in pipeline[-1]['meta_keys']
            assert metainfo.config.model.parse_boxes is True
            assert metainfo.config.model.template == 'minigptv2'


def test_the_full_size_names_need_their_local_files(tmp_path, monkeypatch):
    monkeypatch.setenv('MINIGPTV2_CKPT', str(tmp_path / 'missing.pth'))
    with pytest.raises(FileNotFoundError, match=r'missing\.pth.*\$MINIGPTV2_CKPT'):
        inference_model('minigpt-v2_llama2-7b_refer', real_photo('chelsea'), 'the cat')


@pytest.mark.parametrize('suffix', sorted(TASKS))
def test_each_task_uses_its_official_prompt(suffix, scripted_answers):
    image = real_photo('chelsea')  # 451 x 300 (width x height)
    height, width = image.shape[:2]
    scripted_answers['answers'] = ['<p>a cat</p> {<10><20><50><100>}']
    _, prompt = TASKS[suffix]
    args = () if 'caption' in suffix else ('the cat', )
    result = inference_model(f'minigpt-v2_tiny_{suffix}', image, *args)
    assert scripted_answers['prompts'] == [prompt]
    assert torch.allclose(result['pred_bboxes'], torch.tensor(
        [[0.1 * width, 0.2 * height, 0.5 * width, 1.0 * height]]))
    assert result['pred_phrases'] == ['a cat'] and result['pred_box_problems'] == []


def test_refer_returns_every_box_in_pixels_and_reports_bad_ones(scripted_answers):
    images = [real_photo('chelsea'), real_photo('astronaut')]  # 451 x 300 and 512 x 512
    scripted_answers['answers'] = ['{<0><0><100><100>}', '{<30><40><20><90>} sorry']
    results = inference_model('minigpt-v2_tiny_refer', images, ['the cat', 'the helmet'],
                              batch_size=2)
    assert [r['text'] for r in results] == ['the cat', 'the helmet']
    assert results[0]['pred_bboxes'].tolist() == [[0.0, 0.0, 451.0, 300.0]]
    assert results[1]['pred_bboxes'].shape == (0, 4)
    assert 'reversed' in results[1]['pred_box_problems'][0]
    assert results[1]['pred_answer'] == '{<30><40><20><90>} sorry'


def test_unpaired_texts_are_refused_before_anything_runs(scripted_answers):
    with pytest.raises(ValueError, match='one image and one text string'):
        inference_model('minigpt-v2_tiny_refer', [real_photo('chelsea')], ['a', 'b'])
    with pytest.raises(ValueError, match='Question 0: The question is empty'):
        inference_model('minigpt-v2_tiny_refer', real_photo('chelsea'), ' ')
    assert scripted_answers['prompts'] == []


def test_grounding_needs_a_model_that_reads_boxes():
    with pytest.raises(ValueError, match='model.parse_boxes=True'):
        MiniGPT4GroundingInferencer('minigpt-v2_tiny_refer', parse_boxes=False)


def test_show_dir_draws_the_box(tmp_path, scripted_answers):
    image = real_photo('chelsea')  # RGB
    path = str(tmp_path / 'cat.png')
    Image.fromarray(image).save(path)
    scripted_answers['answers'] = ['{<10><20><50><80>}']
    inference_model('minigpt-v2_tiny_refer', path, 'the cat', show_dir=str(tmp_path / 'drawn'))
    drawn = np.asarray(Image.open(osp.join(tmp_path, 'drawn', 'cat.png')).convert('RGB'))
    assert drawn.shape == image.shape
    # mmpretrain draws the box green, the photo's pixels stay elsewhere.
    x1, y1 = round(0.1 * 451), round(0.2 * 300)
    edge = drawn[y1 + 20, x1 - 1:x1 + 2].astype(int)
    assert ((edge[:, 1] - edge[:, 0] > 60) & (edge[:, 1] - edge[:, 2] > 60)).any()
    assert np.abs(drawn[5, 5].astype(int) - image[5, 5].astype(int)).max() < 40
