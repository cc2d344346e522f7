"""tools/test.py on every MiniGPT-v2 benchmark's mini split with the tiny v2 model (in-process).

As in test_test_tool.py (whose ``scripted_generate`` fixture this uses),
``MiniGPT4.generate`` runs for real on the real prompts and scripted answers (in dataset
order) replace its text, so the printed metrics can be checked against hand-computed
values. IconQA generates nothing: the tiny model's real
losses rank the candidates, and the metric is checked against that ranking.
"""
import os.path as osp

import pytest
from mmengine.config import Config

import test_test_tool
from conftest import REPO_ROOT

from mmpretrain_minigpt4.models.minigpt4 import MiniGPT4

scripted_generate = test_test_tool.scripted_generate  # the fixture, shared
TINY_CONFIGS = osp.join(REPO_ROOT, 'configs', 'minigpt4', 'evaluation', 'tiny')
SHORT = '[vqa] Based on the image, respond to this question with a short answer: '
OFFICIAL_DECODING = dict(max_new_tokens=20, num_beams=1, do_sample=False, min_length=1,
                         repetition_penalty=1.0, length_penalty=1.0)


def v2_prompt(instruction):
    return f'<s>[INST] <Img><ImageHere></Img> {instruction} [/INST]'


def refer(expression):
    return v2_prompt(f'[refer] give me the location of {expression}')


# The mini RefCOCO boxes (x1, y1, x2, y2, original pixels): the woman (16, 24, 112, 160) and
# the flag (0, 0, 48, 56) in a 160 x 160 image, the cat (32, 10.6, 128, 95.4) in 160 x 106.
# An answer's grid box is scaled by width / 100 and height / 100; IoU counts pixels
# inclusively (+1), a hit is IoU > 0.5.
WOMAN_BOX = '{<10><15><70><100>}'  # -> (16, 24, 112, 160): the woman's box, IoU 1
# benchmark -> (scripted answers in dataset order, expected first prompt, expected metrics)
BENCHMARKS = {
    # The woman: IoU 1, hit. The flag gets the woman's box: intersection 33 x 33, union
    # 97 * 137 + 49 * 57 - 1089, IoU 0.07, miss (scored against its own box, not its
    # image's). The cat: (32, 10.6, 112, 95.4), IoU 81 * 85.8 / (97 * 85.8) = 0.84, hit.
    'refcoco-val': ([WOMAN_BOX, WOMAN_BOX, '{<20><10><70><90>}'],
                    refer('the woman in the orange suit'),
                    {'RefCOCO/accuracy': 200 / 3, 'RefCOCO/no_box': 0.0}),
    'refcoco-testA': ([WOMAN_BOX], refer('woman'),
                      {'RefCOCO/accuracy': 100.0, 'RefCOCO/no_box': 0.0}),
    'refcoco-testB': (['the cat on the blanket'], refer('cat on the blanket'),
                      {'RefCOCO/accuracy': 0.0, 'RefCOCO/no_box': 100.0}),
    # (0, 0, 48, 56): the flag's box.
    'refcocoplus-val': (['{<0><0><30><35>}'], refer('stars and stripes'),
                        {'RefCOCO/accuracy': 100.0, 'RefCOCO/no_box': 0.0}),
    # (16, 24, 64, 160): 49 of the woman's 97 columns, IoU 49 / 97 = 0.505, hit.
    'refcocoplus-testA': (['{<10><15><40><100>}'], refer('smiling person in a space suit'),
                          {'RefCOCO/accuracy': 100.0, 'RefCOCO/no_box': 0.0}),
    # (32, 10.6, 78.4, 95.4): 47.4 of the cat's 97 columns, IoU 0.489, miss.
    'refcocoplus-testB': (['{<20><10><49><90>}'], refer('striped animal'),
                          {'RefCOCO/accuracy': 0.0, 'RefCOCO/no_box': 0.0}),
    # Spaces inside the box are ignored (the official script removes them too).
    'refcocog-val': (['{ <10> <15> <70> <100> }'],
                     refer('a woman in an orange space suit smiling'),
                     {'RefCOCO/accuracy': 100.0, 'RefCOCO/no_box': 0.0}),
    # The first box counts: the cat's IoU 0.84 box, then a wrong one.
    'refcocog-test': (['{<20><10><70><90>}<delim>{<0><0><10><10>}'],
                      refer('a tabby cat looking at the camera'),
                      {'RefCOCO/accuracy': 100.0, 'RefCOCO/no_box': 0.0}),
    'okvqa': (['mice', 'Coffee.', 'colombia'],
              v2_prompt(SHORT + 'What do these animals like to chase?'),
              {'VQA/acc': (0.6 + 1 + 0.6) / 3 * 100}),
    # GQAAccuracy normalises answers: 'a saucer' is right (the official exact match: wrong).
    'gqa': (['Orange', 'no', 'a saucer'], v2_prompt(SHORT + 'What color is the suit?'),
            {'GQA/acc': 2 / 3 * 100}),
    # Labels true, false, true. Only 'true' / 'false' count, as officially: 'no' and
    # 'True.' are wrong (v1's VSRAcc reads them and would give 100).
    'vsr': (['True', 'no', 'True.'],
            v2_prompt('[vqa] Based on the image, is this statement true or false? '
                      'The cat is facing the camera.'),
            {'VSR/acc': 100 / 3}),
    'vizwiz': (['coffee', 'unanswerable', 'dog'],
               v2_prompt("[vqa] The question is 'What is in this cup?' Based on the image, "
                         'answer the question with a single word or phrase. and reply '
                         "'unanswerable' when the provided information is insufficient"),
               {'VQA/acc': 2 / 3 * 100}),
    # Labels 0, 1, 0: 'No' right, 'yes' right, 'Yes.' matches neither (wrong, reported).
    'hateful-memes': (['No', 'yes', 'Yes.'],
                      v2_prompt("This is an image writting 'when the sunny spot is finally "
                                "free'. Is this image hateful? Answer yes or no. Answer:"),
                      {'HatefulMemes/acc': 200 / 3, 'HatefulMemes/non_matching': 100 / 3}),
}


@pytest.fixture(autouse=True)
def plain_config_text(monkeypatch):
    """The Runner logs and dumps the config formatted by yapf, about a second of CPU per
    run here; the runs test the metrics, not that text."""
    monkeypatch.setattr(Config, 'pretty_text', property(lambda cfg: repr(cfg.to_dict())))


def run_tool(tmp_path, monkeypatch, name, *extra):
    monkeypatch.chdir(REPO_ROOT)  # the tiny configs' data roots are relative to it
    config = osp.join(TINY_CONFIGS, f'minigptv2_tiny_{name}.py')
    return test_test_tool.test_tool.main([config, *extra, '--work-dir', str(tmp_path / 'work')])


@pytest.mark.parametrize('name', BENCHMARKS)
def test_benchmark_runs_with_official_prompt_and_prints_metrics(
        name, tmp_path, monkeypatch, capsys, scripted_generate):
    answers, first_prompt, expected = BENCHMARKS[name]
    scripted_generate['answers'] = list(answers)
    metrics = run_tool(tmp_path, monkeypatch, name)

    assert scripted_generate['prompts'][0] == first_prompt
    assert scripted_generate['answers'] == []  # one answer per sample
    assert scripted_generate['batch_sizes'] == [len(answers)]  # one batch of up to 10
    assert scripted_generate['overrides'][0] == OFFICIAL_DECODING
    assert metrics == pytest.approx(expected, abs=1e-6)
    table = capsys.readouterr().out.split('| metric')[-1]
    for key, value in expected.items():
        assert f'| {key} ' in table and f'{value:.4f} |' in table


def test_iconqa_ranks_every_candidate_by_the_model_loss(tmp_path, monkeypatch, capsys,
                                                        scripted_generate):
    ranked = dict(prompts=[], candidates=[], scores=[])
    real_scores = MiniGPT4.candidate_scores

    def candidate_scores(self, image_tokens, prompts, candidates):
        scores = real_scores(self, image_tokens, prompts, candidates)
        ranked['prompts'] += prompts
        ranked['candidates'] += candidates
        ranked['scores'] += scores
        return scores

    monkeypatch.setattr(MiniGPT4, 'candidate_scores', candidate_scores)
    metrics = run_tool(tmp_path, monkeypatch, 'iconqa')

    assert scripted_generate['prompts'] == []  # nothing is generated
    assert ranked['prompts'] == [v2_prompt(SHORT + 'What is about to lift off?'),
                                 v2_prompt(SHORT + 'What is in the cup?')]
    assert ranked['candidates'] == [['a rocket', 'a bird', 'a kite'], ['tea', 'coffee']]
    assert [len(s) for s in ranked['scores']] == [3, 2]  # every candidate got a score
    assert all(s > 0 for row in ranked['scores'] for s in row)
    best = [min(range(len(row)), key=row.__getitem__) for row in ranked['scores']]
    hits = [index == right for index, right in zip(best, [0, 1])]
    assert metrics == pytest.approx({'IconQA/acc': sum(hits) / 2 * 100})
    assert f'| IconQA/acc | {sum(hits) / 2 * 100:7.4f} |' in capsys.readouterr().out
