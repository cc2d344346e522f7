"""Smoke test of tools/benchmark.py on the tiny config: table, JSON keys, sane values (no timings);
our variants' switches."""
import contextlib
import json
import os.path as osp
import time

import pytest
import torch

from conftest import REPO_ROOT, TINY_V2_MODEL_CONFIG, build_tiny_model, load_script

from mmpretrain_minigpt4.benchmarking.report import format_table
from mmpretrain_minigpt4.benchmarking.timing import time_interleaved
from mmpretrain_minigpt4.benchmarking.workloads import OursRunner, random_images, switched_on

TINY_BENCHMARK = osp.join(REPO_ROOT, 'configs/minigpt4/speed/minigpt4_tiny.py')


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('benchmark') / 'tiny.json'
    # On CPU whatever the machine: the assertions below are the CPU's (fp32, no allocator
    # statistics).
    report = load_script('tools/benchmark.py').main([
        TINY_BENCHMARK, '--device', 'cpu', '--out', str(out), '--repeats', '1', '--warmup', '0',
        '--threads', '2'])
    return report, json.loads(out.read_text())


def test_json_has_every_measurement_for_ours_and_the_peer(run):
    report, saved = run
    assert saved == json.loads(json.dumps(report))
    assert (saved['device'], saved['dtype']) == ('cpu', 'float32')
    assert saved['peer'] == 'mmpretrain.models.multimodal.minigpt4.minigpt4.MiniGPT4'
    assert saved['sizes']['stage2_batch'] == 2 and saved['sizes']['caption_new_tokens'] == 6
    assert {'torch', 'transformers', 'mmpretrain', 'commit', 'cpu'} <= set(saved['machine'])
    assert saved['limits']['matmul_tflops'] > 0 and saved['limits']['copy_gb_per_s'] > 0
    results = saved['results']
    assert set(results) == {'encode', 'stage2_train', 'stage1_train', 'caption_first_token',
                            'caption_decode_batch_1', 'caption_batched', 'vqa',
                            'vqa_4_questions_per_image'}
    for name, entry in results.items():
        assert entry['ours'] > 0 and entry['peer'] > 0, name
        assert entry['ratio_ours'] == pytest.approx(entry['ours'] / entry['peer']), name
    for stage in ('stage2_train', 'stage1_train'):
        entry = results[stage]
        assert entry['ours_cached_features'] > 0 and entry['ours_llm_checkpointing'] > 0
        assert set(entry['saved_activations_mb']) == {
            'ours', 'peer', 'ours_cached_features', 'ours_llm_checkpointing'}
        # Checkpointing keeps fewer activations; the peer's full logits cost more FLOPs.
        saved_mb = entry['saved_activations_mb']
        assert saved_mb['ours_llm_checkpointing'] < saved_mb['ours']
        assert entry['tflops_per_step']['peer'] > entry['tflops_per_step']['ours']
        assert entry['peak_memory_mb']['ours'] is None  # CPU: no allocator statistics
    stage2 = results['stage2_train']
    # BOS + prompt + 32 image tokens + 40 answer tokens (end_sym included).
    assert 32 + 40 < stage2['sequence_length'] < 32 + 40 + 30
    decode = results['caption_decode_batch_1']
    assert decode['new_tokens'] == {'ours': 6, 'peer': 6}
    assert 0 < decode['ours_fraction_of_limit']
    assert results['caption_batched']['new_tokens'] == {'ours': 6, 'peer': 6}
    vqa = results['vqa']
    assert vqa['ours_batched_equals_one_by_one'] is True
    assert (vqa['ours_batch_size'], vqa['peer_batch_size'], vqa['questions']) == (8, 1, 8)
    assert len(set(vqa['prompt_tokens'])) >= 6  # the questions really differ in length
    shared = results['vqa_4_questions_per_image']
    assert (shared['images'], vqa['images']) == (2, 8)
    assert shared['ours_batched_equals_one_by_one'] is True


def test_table_lists_ratios(run):
    _, saved = run
    table = format_table(saved['results']).splitlines()
    assert table[0] == '| measurement | unit | variant | ours | peer | ours / peer |'
    rows = [line.split(' | ') for line in table[2:]]
    assert {row[0].lstrip('| ') for row in rows} == set(saved['results'])
    assert all(row[-1].rstrip(' |').endswith('x') for row in rows)
    assert any(row[2] == 'ours_cached_features' for row in rows)


def test_a_variants_switches_are_on_around_each_of_its_calls_and_untimed():
    events = []

    @contextlib.contextmanager
    def switch():
        events.append('on')
        time.sleep(0.05)
        yield
        events.append('off')

    times = time_interleaved({'ours': lambda: events.append('ours'),
                              'variant': lambda: events.append('variant')},
                             torch.device('cpu'), repeats=2, warmup=1, settings={'variant': switch})
    assert events == ['ours', 'on', 'variant', 'off'] * 2 + ['on', 'variant', 'off', 'ours']
    assert max(times['variant']) < 0.05


def test_workloads_prompt_as_the_model_trains_and_predicts():
    """MiniGPT-v2 trains on one prompt and predicts on another: each workload gets its own."""
    runner = OursRunner(build_tiny_model(config=TINY_V2_MODEL_CONFIG))
    assert runner.training_prompt() == (
        '[INST] <Img><ImageHere></Img> Describe this image in detail.  [/INST]')
    assert runner.caption_prompt() == (
        '<s>[INST] <Img><ImageHere></Img> Describe this image in detail. [/INST]')


def test_cached_features_variant_skips_the_frozen_encoder(monkeypatch):
    model = build_tiny_model()
    runner = OursRunner(model)
    images = random_images(2, model.vision_encoder.img_size, 'cpu', torch.float32)
    samples = runner.training_samples('', ['A cat.'] * 2, ['a.jpg', 'b.jpg'])
    encoded = []
    encode_frozen = model.encode_frozen
    monkeypatch.setattr(model, 'encode_frozen',
                        lambda batch: encoded.append(len(batch)) or encode_frozen(batch))
    with runner.cached_features_of(images, samples):
        assert encoded == [2]  # filled before the timed call
        runner.train_step(images, samples)
        assert encoded == [2]
    assert model.feature_cache is None
    runner.train_step(images, samples)
    assert encoded == [2, 2]
    with switched_on(model.set_llm_gradient_checkpointing):
        assert model.llm_gradient_checkpointing
    assert not model.llm_gradient_checkpointing
