"""tools/test.py on every benchmark's mini split with the tiny model (in-process).

The tiny random model babbles, so each run spies on ``MiniGPT4.generate``: the
real batched generation runs on the real prompts, then scripted answers (in
dataset order) replace its text, so the printed metrics can be checked against
hand-computed values. The COCO caption run leaves METEOR out (its JVM start is
slow; tests/test_evaluation checks it). NEEDS JAVA for the caption run.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO_ROOT, load_script
from test_train import free_port

from mmpretrain_minigpt4.models.minigpt4 import MiniGPT4
from mmpretrain_minigpt4.models.unique_images import unique_images

TINY_CONFIGS = osp.join(REPO_ROOT, 'configs', 'minigpt4', 'evaluation', 'tiny')
CAPTION_DATA = osp.join(REPO_ROOT, 'tests', 'data', 'benchmarks', 'coco_caption')
SHORT = 'Based on the image, respond to this question with a short answer: '


test_tool = load_script('tools/test.py')


def vicuna_prompt(instruction):
    return f'###Human: <Img><ImageHere></Img> {instruction} ###Assistant: '


def caption_answers():
    with open(osp.join(CAPTION_DATA, 'predictions.json')) as f:
        return [p['caption'] for p in json.load(f)]


def caption_scores_without_meteor():
    with open(osp.join(CAPTION_DATA, 'pycocoevalcap_scores.json')) as f:
        scores = json.load(f)
    return {f'COCOCaption/{k}': v for k, v in scores.items() if k not in ('_how', 'METEOR')}


SCIENCEQA_101 = ('Question: Which of these is used to travel into space?\n'
                 'Options: (A) a bicycle (B) a rocket (C) a sailboat\n'
                 "Answer with the option's letter from the given choices directly.")
# benchmark -> (scripted answers in dataset order, expected first prompt, expected metrics)
BENCHMARKS = {
    'vqav2': (['helmet', 'yes', 'cat', 'one', 'space shuttle'],
              vicuna_prompt(SHORT + 'What is the woman holding?'),
              # 8/10 humans, 10/10, 9/10, 'one'->'1' (10/10): 1; 2/10: 0.6 (official averaging)
              {'VQA/acc': (1 + 1 + 1 + 1 + 0.6) / 5 * 100}),
    'okvqa': (['mice', 'Coffee.', 'colombia'],
              vicuna_prompt(SHORT + 'What do these animals like to chase?'),
              {'VQA/acc': (0.6 + 1 + 0.6) / 3 * 100}),
    'gqa': (['Orange', 'no', 'a saucer'], vicuna_prompt(SHORT + 'What color is the suit?'),
            {'GQA/acc': 2 / 3 * 100}),
    'vsr': (['True', 'true', 'False.'],
            vicuna_prompt('Based on the image, is this statement true or false? '
                          'The cat is facing the camera.'),
            {'VSR/acc': 1 / 3 * 100}),
    'scienceqa-img': (['B', 'The answer is B'], vicuna_prompt(SCIENCEQA_101),
                      # 101 (grade 3, no hint) right; 103 (grade 8, with hint and image) wrong.
                      {'ScienceQA/all_acc': 50.0, 'ScienceQA/acc_natural': 50.0,
                       'ScienceQA/acc_has_image': 50.0, 'ScienceQA/acc_has_text': 0.0,
                       'ScienceQA/acc_grade_1_6': 100.0, 'ScienceQA/acc_grade_7_12': 0.0}),
    'textvqa': (['USA', 'no text'],
                vicuna_prompt(SHORT + 'what letters are written on the rocket?'),
                {'VQA/acc': (1 + 0.6) / 2 * 100}),
    # The unanswerable question counts (mmpretrain's VizWiz dataset drops it); min(1, n/3).
    'vizwiz': (['coffee', 'unanswerable', 'dog'],
               vicuna_prompt("The question is 'What is in this cup?' Based on the image, answer "
                             'the question with a single word or phrase. and reply '
                             "'unanswerable' when the provided information is insufficient"),
               {'VQA/acc': 2 / 3 * 100}),
    'coco-caption': (caption_answers(), vicuna_prompt('Briefly describe this image.'),
                     caption_scores_without_meteor()),
}


@pytest.fixture
def scripted_generate(monkeypatch):
    """Run the real generate, record prompts and batch sizes, answer from a script."""
    calls = dict(prompts=[], batch_sizes=[], answers=[], overrides=[])
    real_generate = MiniGPT4.generate

    def generate(self, image_tokens, prompts, **overrides):
        texts = real_generate(self, image_tokens, prompts, **overrides)
        assert len(texts) == len(prompts) == image_tokens.shape[0]
        calls['prompts'] += prompts
        calls['batch_sizes'].append(len(prompts))
        calls['overrides'].append(dict(self.generation_cfg))
        return [calls['answers'].pop(0) for _ in prompts]

    monkeypatch.setattr(MiniGPT4, 'generate', generate)
    return calls


def run_tool(tmp_path, monkeypatch, name, *extra):
    monkeypatch.chdir(REPO_ROOT)  # the tiny configs' data roots are relative to it
    config = osp.join(TINY_CONFIGS, f'minigpt4_tiny_{name}.py')
    return test_tool.main([config, *extra, '--work-dir', str(tmp_path / 'work')])


@pytest.mark.parametrize('name', sorted(BENCHMARKS))
def test_benchmark_runs_with_official_prompt_and_prints_metrics(
        name, tmp_path, monkeypatch, capsys, scripted_generate):
    answers, first_prompt, expected = BENCHMARKS[name]
    scripted_generate['answers'] = list(answers)
    extra = []
    if name == 'coco-caption':
        extra = ['--cfg-options', "test_evaluator.scorers=['Bleu','ROUGE_L','CIDEr']"]
    metrics = run_tool(tmp_path, monkeypatch, name, 'none', *extra)

    assert scripted_generate['prompts'][0] == first_prompt
    assert scripted_generate['batch_sizes'] == [len(answers)]  # one batch of up to 10
    assert scripted_generate['overrides'][0] == dict(
        max_new_tokens=20, num_beams=1, do_sample=False, min_length=1, repetition_penalty=1.0,
        length_penalty=1.0)
    assert metrics == pytest.approx(expected, abs=1e-6)
    printed = capsys.readouterr()
    table = printed.out.split('| metric')[-1]
    for key, value in expected.items():
        assert f'| {key} ' in table and f'{value:.4f} |' in table
    # ProgressBarHook's bar over the (one) batch.
    assert 'Test: 100%' in printed.err and '1/1 [' in printed.err


def test_out_dumps_predictions_and_show_dir_draws_them(tmp_path, monkeypatch, scripted_generate):
    answers = BENCHMARKS['gqa'][0]
    scripted_generate['answers'] = list(answers)
    out, show_dir = tmp_path / 'preds.json', tmp_path / 'show'
    run_tool(tmp_path, monkeypatch, 'gqa', '--out', str(out), '--show-dir', str(show_dir))

    with open(out) as f:
        records = json.load(f)
    assert [r['pred_answer'] for r in records] == answers
    assert [r['question'] for r in records] == [
        'What color is the suit?', 'Is the woman smiling?', 'What is the cup sitting on?']
    assert [r['gt_answer'] for r in records] == ['orange', 'yes', 'saucer']
    assert records[0]['img_path'].endswith('tests/data/benchmarks/gqa/images/n100001.jpg')

    drawn = sorted(p.name for p in show_dir.iterdir())
    assert drawn == ['000000_n100001.png', '000001_n100001.png', '000002_n100003.png']
    # Same image, different question/answer: the text box differs, the rest is the photo.
    first, second = (np.asarray(Image.open(show_dir / n).convert('RGB'), dtype=np.int16)
                     for n in drawn[:2])
    photo = Image.open(osp.join(REPO_ROOT, 'tests/data/benchmarks/gqa/images/n100001.jpg'))
    photo = np.asarray(photo.convert('RGB').resize((224, 224), Image.BICUBIC), dtype=np.int16)
    assert first.shape == photo.shape == (224, 224, 3)
    assert np.abs(first - second)[:30].mean() > 5  # the drawn question and answer
    assert np.abs(first - photo)[-60:].mean() < 5  # drawn in RGB order, photo untouched below


def test_batched_greedy_equals_one_by_one(tmp_path, monkeypatch):
    batched, single = tmp_path / 'batched.json', tmp_path / 'single.json'
    run_tool(tmp_path, monkeypatch, 'vqav2', '--out', str(batched))
    run_tool(tmp_path, monkeypatch, 'vqav2', '--out', str(single),
             '--cfg-options', 'test_dataloader.batch_size=1')
    with open(batched) as f, open(single) as g:
        batched_answers = [r['pred_answer'] for r in json.load(f)]
        single_answers = [r['pred_answer'] for r in json.load(g)]
    assert len(batched_answers) == 5 and all(batched_answers)
    assert batched_answers == single_answers


def interleaved_gqa_questions(tmp_path, count: int) -> str:
    """A GQA question file whose questions alternate between two images; its path."""
    gqa = osp.join(REPO_ROOT, 'tests/data/benchmarks/gqa/questions/testdev_balanced_questions.json')
    with open(gqa) as f:
        first, _, third = json.load(f).values()  # on images n100001, n100001, n100003
    questions = {str(i + 1): dict((first, third)[i % 2], question=f'Question {i + 1}?')
                 for i in range(count)}
    ann_file = tmp_path / 'interleaved.json'
    ann_file.write_text(json.dumps(questions))
    return str(ann_file)


def test_questions_are_visited_image_by_image(tmp_path, monkeypatch):
    """Interleaved images, batches of 2: the grouped order encodes each image once per batch."""
    ann_file = interleaved_gqa_questions(tmp_path, 4)
    encoded = []
    real_encode = MiniGPT4.encode_frozen

    def encode_frozen(self, images):
        encoded.append(len(unique_images(images)[0]))
        return real_encode(self, images)

    monkeypatch.setattr(MiniGPT4, 'encode_frozen', encode_frozen)
    answers = {}
    for sampler, options in (('ImageGroupedSampler', []),
                             ('DefaultSampler', ['test_dataloader.sampler.type=DefaultSampler',
                                                 'test_dataloader.sampler.shuffle=False'])):
        out = tmp_path / f'{sampler}.json'
        encoded.clear()
        run_tool(tmp_path, monkeypatch, 'gqa', '--out', str(out), '--cfg-options',
                 f'test_dataloader.dataset.ann_file={ann_file}', 'test_dataloader.batch_size=2',
                 *options)
        with open(out) as f:
            records = json.load(f)
        answers[sampler] = {r['question_id']: r['pred_answer'] for r in records}
        answers[sampler, 'order'] = [r['question_id'] for r in records]
        answers[sampler, 'encoded'] = list(encoded)
    assert answers['ImageGroupedSampler', 'order'] == ['1', '3', '2', '4']
    assert answers['ImageGroupedSampler', 'encoded'] == [1, 1]
    assert answers['DefaultSampler', 'order'] == ['1', '2', '3', '4']
    assert answers['DefaultSampler', 'encoded'] == [2, 2]
    assert answers['ImageGroupedSampler'] == answers['DefaultSampler']
    assert len(answers['DefaultSampler']) == 4 and all(answers['DefaultSampler'].values())


def test_two_processes_answer_every_question_once(tmp_path):
    """tools/dist_test.sh: image-grouped rank parts (one padded) gather to each question once."""
    options = ['--cfg-options', f'test_dataloader.dataset.ann_file='
               f'{interleaved_gqa_questions(tmp_path, 5)}', 'test_dataloader.batch_size=2']
    config = osp.join(TINY_CONFIGS, 'minigpt4_tiny_gqa.py')
    # Two CPU processes (gloo), also on a machine with one GPU.
    env = {**os.environ, 'PORT': str(free_port()), 'OMP_NUM_THREADS': '1',
           'PYTHON': sys.executable, 'CUDA_VISIBLE_DEVICES': ''}
    records = {}
    for name, command in (
            ('ddp', ['bash', 'tools/dist_test.sh', config, 'none', '2']),
            ('single', [sys.executable, 'tools/test.py', config, 'none'])):
        out = tmp_path / f'{name}.json'
        result = subprocess.run([*command, '--out', str(out), '--work-dir', str(tmp_path / name),
                                 *options], cwd=REPO_ROOT, env=env, capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
        with open(out) as f:
            records[name] = json.load(f)
    (log, ) = glob.glob(str(tmp_path / 'ddp' / '*' / '*.log'))
    with open(log) as f:
        assert 'Distributed launcher: pytorch' in f.read()
    # Rank 1's part is one question short and padded with a repeat, which gathering drops.
    assert sorted(r['question_id'] for r in records['ddp']) == ['1', '2', '3', '4', '5']
    by_id = {r['question_id']: r for r in records['single']}
    assert all(r == by_id[r['question_id']] for r in records['ddp'])
    assert all(r['pred_answer'] for r in records['ddp'])


def test_out_item_metrics_and_errors(tmp_path, monkeypatch, scripted_generate):
    scripted_generate['answers'] = list(BENCHMARKS['vsr'][0])
    out = tmp_path / 'metrics.json'
    run_tool(tmp_path, monkeypatch, 'vsr', '--out', str(out), '--out-item', 'metrics')
    with open(out) as f:
        assert json.load(f) == pytest.approx({'VSR/acc': 100 / 3})

    with pytest.raises(FileNotFoundError, match='missing.pth'):
        run_tool(tmp_path, monkeypatch, 'vsr', 'missing.pth')
    with pytest.raises(SystemExit):
        run_tool(tmp_path, monkeypatch, 'vsr', '--out-item', 'metrics')


def test_metrics_table():
    assert test_tool.format_metrics_table({'VQA/acc': 93.33333, 'n': 3}) == '\n'.join([
        '+---------+---------+',
        '| metric  |   value |',
        '+---------+---------+',
        '| VQA/acc | 93.3333 |',
        '| n       |       3 |',
        '+---------+---------+'])


def test_command_line_prints_the_metrics_table(tmp_path):
    """As users run it: a fresh interpreter, the plugin imported by the tool itself."""
    config = osp.join(TINY_CONFIGS, 'minigpt4_tiny_scienceqa-img.py')
    done = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'test.py'), config, 'none',
         '--work-dir', str(tmp_path), '--out', str(tmp_path / 'preds.json'), '--no-pin-memory'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    table = done.stdout[done.stdout.index('| metric'):]
    assert '| ScienceQA/all_acc ' in table and '| ScienceQA/acc_has_image ' in table
    with open(tmp_path / 'preds.json') as f:
        records = json.load(f)
    assert [r['image_id'] for r in records] == ['101', '103']
    assert records[1]['question'].startswith(
        'Context: Animals in cold places often have thick fur. The picture shows a tabby cat.\n'
        "Question: Which animal's fur is better adapted to a cold place?\n"
        'Options: (A) arctic fox (B) tabby cat\n')
