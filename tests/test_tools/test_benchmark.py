"""Smoke test of tools/benchmark.py on the tiny config: table, JSON keys, sane values (no timings)."""
import json
import os.path as osp

import pytest

from conftest import REPO_ROOT, load_script

TINY_BENCHMARK = osp.join(REPO_ROOT, 'configs/minigpt4/benchmark/minigpt4_tiny.py')


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('benchmark') / 'tiny.json'
    tool = load_script('tools/benchmark.py')
    report = tool.main([TINY_BENCHMARK, '--out', str(out), '--repeats', '1', '--warmup', '0',
                        '--threads', '2'])
    return tool, report, json.loads(out.read_text())


def test_json_has_every_measurement_for_ours_and_the_peer(run):
    _, report, saved = run
    assert saved == json.loads(json.dumps(report))
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
    tool, _, saved = run
    table = tool.format_table(saved['results']).splitlines()
    assert table[0] == '| measurement | unit | variant | ours | peer | ours / peer |'
    rows = [line.split(' | ') for line in table[2:]]
    assert {row[0].lstrip('| ') for row in rows} == set(saved['results'])
    assert all(row[-1].rstrip(' |').endswith('x') for row in rows)
    assert any(row[2] == 'ours_cached_features' for row in rows)
