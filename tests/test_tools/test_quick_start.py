"""The quick start (tools/run_demo.sh): the tiny stage 2 learns the 8 mini photos, so each
photo's greedy caption is its own training caption; readable logs; the loss curve."""
import glob
import json
import os.path as osp

import pytest
from PIL import Image

from conftest import REPO_ROOT, load_script, run_python

OVERFIT_CONFIG = 'configs/minigpt4/stage2_tiny_overfit.py'
MINI_CAPTIONS = osp.join(REPO_ROOT, 'tests/data/minigpt4_mini/cc_sbu_align/filter_cap.json')

compare_tool = load_script('tools/compare_training_captions.py')


@pytest.fixture(scope='module')
def overfit_run(tmp_path_factory):
    """The demo's training, as tools/run_demo.sh runs it (CUDA hidden: a CPU run)."""
    work_dir = tmp_path_factory.mktemp('overfit') / 'work'
    result = run_python('tools/train.py', OVERFIT_CONFIG, '--work-dir', str(work_dir),
                        env={'CUDA_VISIBLE_DEVICES': ''})
    return work_dir, result.stdout + result.stderr


def test_every_photo_gives_its_own_training_caption(overfit_run):
    """tools/compare_training_captions.py, as the demo runs it: per photo its greedy
    caption (the training one when they differ), then the verdict; exit status 0."""
    work_dir, _ = overfit_run
    result = run_python('tools/compare_training_captions.py', str(work_dir / 'iter_300.pth'),
                        '--device', 'cpu')
    with open(MINI_CAPTIONS) as f:
        captions = [a['caption'] for a in json.load(f)['annotations']]
    assert len(set(captions)) == 8
    expected = [line for i, caption in enumerate(captions)
                for line in (f'[same] {i}.jpg', f'    generated: {caption}')]
    expected.append('8 of 8 photos give their own training caption; 8 different captions '
                    'for 8 photos.')
    assert result.stdout.splitlines()[-len(expected):] == expected
    assert 'MultiScaleDeformableAttention' not in result.stderr


def test_training_log_has_one_summary_line_instead_of_a_warning_per_frozen_tensor(overfit_run):
    _, log = overfit_run
    assert 'is skipped since its requires_grad=False' not in log
    assert 'MultiScaleDeformableAttention' not in log
    # The projection and the tiny LLM train here (32000 x 64 embeddings and lm_head ...).
    (summary, ) = [line for line in log.splitlines() if 'Trainable: ' in line]
    assert summary.endswith('Trainable: 23 tensors, 4,180,352 parameters (head, llm); frozen: '
                            '77 tensors, 66,656 parameters (vision_encoder, ln_vision, neck).')


def test_the_loss_curve_is_drawn_in_the_work_dir(overfit_run):
    work_dir, _ = overfit_run
    (curve, ) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'loss_curve.png'))
    with Image.open(curve) as picture:
        assert picture.format == 'PNG' and picture.size == (640, 400)


def test_an_unlearned_set_is_reported_and_fails():
    pairs = [compare_tool.CaptionPair('a/0.jpg', 'A cat.', 'A cat.'),
             compare_tool.CaptionPair('a/1.jpg', 'A cat.', 'A dog.')]
    assert not compare_tool.learned(pairs)
    assert compare_tool.report(pairs).splitlines() == [
        '[same] 0.jpg', '    generated: A cat.',
        '[DIFFERENT] 1.jpg', '    generated: A cat.', '    training:  A dog.',
        '1 of 2 photos give their own training caption; 1 different captions for 2 photos.']
    # Photos that share a training caption may share the generated one.
    same_text = [compare_tool.CaptionPair(f'{i}.jpg', 'A cat.', 'A cat.') for i in range(2)]
    assert compare_tool.learned(same_text)
    assert not compare_tool.learned(same_text[:1] + [
        compare_tool.CaptionPair('1.jpg', 'A cat.', 'A dog.')])
