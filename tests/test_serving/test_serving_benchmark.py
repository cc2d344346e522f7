"""tools/benchmark.py --serving on the tiny config (no timings asserted): the JSON, the
table, equal answers; the issue's targets from the measured numbers."""
import json
import os.path as osp

from conftest import REPO_ROOT, load_script

from mmpretrain_minigpt4.benchmarking.serving import format_serving_table, serving_targets

TINY_BENCHMARK = osp.join(REPO_ROOT, 'configs/minigpt4/speed/minigpt4_tiny.py')


def test_serving_workload_measures_each_client_count(tmp_path):
    out = tmp_path / 'serving.json'
    report = load_script('tools/benchmark.py').main([
        TINY_BENCHMARK, '--serving', '--device', 'cpu', '--out', str(out),
        '--serving-clients', '1', '3', '--serving-batch-sizes', '4', '--serving-requests', '6',
        '--serving-new-tokens', '3', '--serving-images', '2'])
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(report))
    assert saved['sizes']['batch_sizes'] == [4] and 'targets' not in saved
    assert {'torch', 'transformers', 'commit', 'cpu'} <= set(saved['machine'])
    levels = saved['results']['batch_4']
    assert set(levels) == {'1', '3'}
    for clients, entry in levels.items():
        assert (entry['clients'], entry['requests']) == (int(clients), 6)
        assert entry['requests_per_s'] > 0 and entry['p95_s'] >= entry['p50_s'] > 0
        assert 1 <= entry['mean_batch_size'] <= int(clients)
        assert 0 < entry['completion_tokens_mean'] <= 3
    assert saved['answers_equal'] is True
    assert format_serving_table(saved).splitlines()[2].startswith('| --max-batch-size 4 | 1 |')


def test_targets_compare_batching_with_batch_1_and_one_client():
    def level(rps, p50, p95):
        return dict(requests_per_s=rps, p50_s=p50, p95_s=p95)

    results = {'batch_16': {'1': level(1.0, 1.0, 1.2), '16': level(3.0, 1.5, 2.5)},
               'batch_1': {'1': level(1.0, 1.0, 1.1), '16': level(1.0, 15.0, 16.0)}}
    targets = serving_targets(results, batch_size=16, most=16, fewest=1)
    assert targets['speedup_vs_batch_1'] == 3.0 and targets['speedup_met']
    assert targets['p95_vs_single_client'] == 2.5 and not targets['p95_met']
