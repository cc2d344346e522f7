"""Smoke test of tools/benchmark.py on the tiny config: table, JSON keys, sane values (no timings);
our variants' switches; the memory mode (weights on CPU, the peak workloads' path on the tiny
model)."""
import contextlib
import json
import os.path as osp
import time

import pytest
import torch

from conftest import (REPO_ROOT, TINY_MODEL_CONFIG, TINY_V2_MODEL_CONFIG, build_tiny_model,
                      load_script)
from mmengine.config import Config

from mmpretrain_minigpt4.benchmarking import peak_memory
from mmpretrain_minigpt4.benchmarking.memory import (format_targets_table, format_weights_table,
                                                     target_rows)
from mmpretrain_minigpt4.benchmarking.memory_variants import MemoryVariant
from mmpretrain_minigpt4.benchmarking.peak_memory import PeakWorkload, measure_peaks
from mmpretrain_minigpt4.benchmarking.report import format_table
from mmpretrain_minigpt4.benchmarking.timing import time_interleaved
from mmpretrain_minigpt4.benchmarking.workloads import OursRunner, random_images, switched_on
from mmpretrain_minigpt4.models.language_models.quantization import count_quantized_linears

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


# --- memory (--memory) -----------------------------------------------------------------

def test_memory_cli_on_cpu_reports_exact_weights_and_skips_the_peaks(tmp_path, capsys):
    out = tmp_path / 'memory.json'
    report = load_script('tools/benchmark.py').main([
        '--memory', '--device', 'cpu', '--memory-variants', 'minigptv2', '--out', str(out)])
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(report))
    weights = saved['weights']['minigptv2']
    assert set(weights) == {'bf16', '8bit', '4bit'}
    # Each mode is its own meta build: the ViT is bf16 or fp16 (2 bytes either way), the
    # LoRA float32, and only the decoder linears change with the quantization.
    for mode in ('8bit', '4bit'):
        for part in ('vision_encoder', 'ln_vision', 'head', 'llm_other', 'lora'):
            assert weights[mode][part] == weights['bf16'][part], (mode, part)
    assert weights['bf16']['lora'] == 32 * 2 * 2 * 64 * 4096 * 4
    assert weights['bf16']['llm_linears'] == 2 * 32 * (4 * 4096**2 + 3 * 4096 * 11008)
    assert weights['4bit']['total'] < weights['8bit']['total'] < weights['bf16']['total']
    assert saved['peaks'] is None and 'needs a CUDA device' in saved['peaks_skipped']
    # Only the workload of the chosen variant: QLoRA stage 3, target 20 GB.
    [target] = saved['targets']
    assert (target['workload'], target['target_gb'], target['peak_gb'], target['met']) == (
        'stage3_step/minigptv2/4bit', 20, None, None)
    assert target['weights_gb'] == weights['4bit']['total'] / 1e9
    assert target['headroom_gb'] == pytest.approx(20 - target['weights_gb'])
    assert saved['workload_sizes']['stage3_step'] == dict(batch=2, text_tokens=1024)
    # The random Llama-2-7B it would save for the 4-bit load: 6,738,415,616 fp16 values.
    assert saved['disk_bytes_needed'] == 6_738_415_616 * 2
    printed = capsys.readouterr().out
    assert '| minigptv2 | 4bit | 1.84 GiB | 11 KiB | 88 MiB | 3.11 GiB |' in printed
    assert '| stage3_step | minigptv2 | 4bit | 20 | 6.07 | below target |' in printed
    assert 'not measured yet (no GPU in this run)' in printed
    # --memory takes no CONFIG, everything else needs one.
    for argv in (['--memory', TINY_BENCHMARK], ['--device', 'cpu']):
        with pytest.raises(SystemExit):
            load_script('tools/benchmark.py').parse_args(argv)


def test_memory_tables_show_parts_targets_and_measured_peaks():
    entry = dict(vision_encoder=3 * 2**30, ln_vision=11264, neck=0, head=12 * 2**20,
                 llm_linears=6 * 2**30, llm_other=501 * 2**20, lora=0, other=24)
    entry['total'] = sum(entry.values())
    weights = {'v7': {'8bit': entry}, 'v13': {'8bit': dict(entry, total=20 * 10**9)}}
    table = format_weights_table(weights).splitlines()
    # Parts that are zero in every row (Q-Former, LoRA here) have no column.
    assert table[0] == ('| variant | mode | ViT | ln_vision | projection | LLM linears | '
                        'LLM other | other | total GiB | total GB |')
    assert table[2] == ('| v7 | 8bit | 3 GiB | 11 KiB | 12 MiB | 6 GiB | 501 MiB | 24 B | '
                        f'9.50 | {entry["total"] / 1e9:.2f} |')
    workloads = [PeakWorkload('caption', 'v7', '8bit', 11),
                 PeakWorkload('caption', 'v7', '8bit', 10.5),
                 PeakWorkload('caption', 'v13', '8bit', 18)]
    peaks = {'caption/v7/8bit': dict(peak_mb=10_000)}  # 10.49 GB
    rows = target_rows(workloads, weights, peaks)
    assert [(r['weights_below_target'], r['met']) for r in rows] == [
        (True, True), (True, True), (False, None)]
    assert rows[0]['peak_gb'] == 10_000 * 2**20 / 1e9
    assert rows[0]['headroom_gb'] == pytest.approx(11 - entry['total'] / 1e9)
    lines = format_targets_table(rows, peaks_skipped=None).splitlines()
    assert lines[2] == '| caption | v7 | 8bit | 11 | 10.20 | below target | 0.80 | 10.49 | yes |'
    assert lines[4] == ('| caption | v13 | 8bit | 18 | 20.00 | above target: missed | -2.00 | '
                        'not measured | - |')
    skipped = format_targets_table(target_rows(workloads[:1], weights), 'no GPU').splitlines()
    assert skipped[2].endswith('| not measured yet (no GPU in this run) | - |')


def test_peak_workloads_run_on_cpu_with_one_saved_llm_at_a_time(tmp_path, monkeypatch):
    """The CUDA path end to end on the tiny model: each workload builds its model in its
    mode (8 / 4 bits loaded from one saved random LLM), runs, and leaves no file."""
    llm_config = Config.fromfile(TINY_MODEL_CONFIG).model.llm.config.to_dict()
    variants = dict(tiny=MemoryVariant('tiny', 'minigpt4_tiny.py', llm_config),
                    tiny_v2=MemoryVariant('tiny_v2', 'minigptv2_tiny.py', llm_config))
    workloads = [PeakWorkload('caption', 'tiny', '4bit', 1),
                 PeakWorkload('caption', 'tiny', 'bf16', 1),
                 PeakWorkload('stage2_step', 'tiny', '8bit', 1),
                 PeakWorkload('stage3_step', 'tiny_v2', '4bit', 1)]
    sizes = dict(caption=dict(batch=1, new_tokens=3), stage2_step=dict(batch=2, text_tokens=8),
                 stage3_step=dict(batch=1, text_tokens=8))
    saves, built = [], []
    save, build = peak_memory.save_random_llm, peak_memory.build_random_model
    monkeypatch.setattr(peak_memory, 'save_random_llm',
                        lambda *args: saves.append(args[1:3]) or save(*args))

    def recording_build(variant, mode, device, llm_dir=None):
        model = build(variant, mode, device, llm_dir)
        built.append((variant.name, mode.name, count_quantized_linears(model.llm),
                      model.llm.lm_head.weight.dtype, model.vision_encoder.pos_embed.dtype))
        return model

    monkeypatch.setattr(peak_memory, 'build_random_model', recording_build)
    results = measure_peaks(workloads, torch.device('cpu'), sizes, str(tmp_path), variants)

    # 8 and 4 bits load the same float16 LLM: saved once, and deleted afterwards.
    assert len(saves) == 1 and saves[0][0] == 'float16'
    assert list(tmp_path.iterdir()) == []
    # The 16-bit model (built from its architecture) first, then those loading the saved
    # LLM, in the given order.
    assert built == [
        ('tiny', 'bf16', 0, torch.bfloat16, torch.bfloat16),
        ('tiny', '4bit', 14, torch.float16, torch.float16),
        ('tiny', '8bit', 14, torch.float16, torch.float16),
        ('tiny_v2', '4bit', 14, torch.float16, torch.float16)]
    assert list(results) == [w.name for w in workloads]
    assert all(r['peak_mb'] is None and r['weights_allocated_mb'] is None
               for r in results.values())  # CPU: no allocator statistics
    assert results['caption/tiny/4bit']['new_tokens'] == 3
    assert results['caption/tiny/bf16']['new_tokens'] == 3
    # BOS + prompt + image tokens (32; v2: 256) + 8 answer tokens and end_sym.
    assert 32 + 9 < results['stage2_step/tiny/8bit']['sequence_length'] < 32 + 9 + 30
    assert 256 + 9 < results['stage3_step/tiny_v2/4bit']['sequence_length'] < 256 + 9 + 30
