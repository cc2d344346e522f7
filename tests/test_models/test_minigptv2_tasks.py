"""MiniGPT-v2's other inputs and outputs on the tiny model (CPU): multi-turn and text-only
training ids (hand-worked, real Llama-2 tokenizer), candidate ranking (the official
``multi_select``) and boxes read from answers into ``pred_bboxes``."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from conftest import TINY_V2_MODEL_CONFIG, build_tiny_model

from mmpretrain_minigpt4.models import minigpt4 as minigpt4_module

NUM_IMAGE_TOKENS = 256
INST = [518, 25580, 29962]  # '▁[' 'INST' ']'
CLOSE_INST = [518, 29914, 25580, 29962]  # '▁[' '/' 'INST' ']'
LONE_SPACE = 29871  # '▁'
# 'It is red.' + '</s>': '▁It' '▁is' '▁red' '.' '</s>'
FIRST_ANSWER = [739, 338, 2654, 29889, 2]
# '<s>' then '[INST] What colour is it?  [/INST]': '▁What' '▁colour' '▁is' '▁it' '?'
FOLLOWUP = [1] + INST + [1724, 12384, 338, 372, 29973, LONE_SPACE] + CLOSE_INST
# 'A cat.' + '</s>': '▁A' '▁cat' '.' '</s>'
SECOND_ANSWER = [319, 6635, 29889, 2]


@pytest.fixture(scope='module')
def tiny_v2():
    """Shared, not to be modified."""
    return build_tiny_model(0, TINY_V2_MODEL_CONFIG, parse_boxes=True)


def test_conversation_targets_are_the_official_tokenize_conversation(tiny_v2):
    sample = DataSample(conversation=[['[vqa] What is it?', 'It is red.'],
                                      ['What colour is it?', 'A cat.']])
    assert tiny_v2.training_prompt(sample) == (
        '[INST] <Img><ImageHere></Img> [vqa] What is it?  [/INST]')
    ids, labels = tiny_v2.training_target(sample)
    assert ids == FIRST_ANSWER + FOLLOWUP + SECOND_ANSWER
    assert labels == FIRST_ANSWER + [-100] * len(FOLLOWUP) + SECOND_ANSWER
    _, _, batch_labels = tiny_v2.build_training_inputs(torch.randn(1, NUM_IMAGE_TOKENS, 64),
                                                       [sample])
    prompt_length = sum(map(len, tiny_v2.prompt_token_ids(tiny_v2.training_prompt(sample))))
    assert batch_labels[0].tolist() == [-100] * (prompt_length + NUM_IMAGE_TOKENS) + labels


def test_conversation_is_truncated_as_a_whole_to_max_txt_len():
    model = build_tiny_model(0, TINY_V2_MODEL_CONFIG, max_txt_len=7)
    ids, labels = model.training_target(DataSample(
        conversation=[['Q?', 'It is red.'], ['What colour is it?', 'A cat.']]))
    assert ids == (FIRST_ANSWER + FOLLOWUP)[:7]
    assert labels == FIRST_ANSWER + [-100, -100]


@pytest.mark.parametrize('conversation', [[], 'text', [['only a question']], [['', 'answer']],
                                          [['q', 3]]])
def test_bad_conversation_is_an_error(tiny_v2, conversation):
    with pytest.raises(ValueError, match='conversation'):
        tiny_v2.training_target(DataSample(conversation=conversation))


def test_text_only_batch_trains_without_images():
    model = build_tiny_model(0, TINY_V2_MODEL_CONFIG)
    sample = DataSample(instruction='Write a haiku.', answer='Leaves fall.')
    assert model.training_prompt(sample, with_image=False) == '[INST] Write a haiku. [/INST]'
    _, _, labels = model.build_training_inputs(model.no_image_tokens(1), [sample])
    # BOS, '▁[' 'INST' ']' '▁Write' '▁a' '▁ha' 'iku' '.' '▁[' '/' 'INST' ']' (one space):
    # then 'Leaves fall.</s>'.
    assert labels[0].tolist() == [-100] * 13 + [951, 5989, 6416, 29889, 2]
    loss = model.loss(None, [sample])['loss']
    loss.backward()
    assert torch.isfinite(loss)
    assert model.head.proj.weight.grad is None  # no image: the projection is not used
    assert any(p.grad is not None for n, p in model.named_parameters() if 'lora_B' in n)


def test_text_only_needs_a_template_with_a_text_only_form(tiny_model):
    with pytest.raises(ValueError, match="no text-only training prompt"):
        tiny_model.loss(None, [DataSample(instruction='Write.', answer='No.')])


def official_multi_select_score(model, image_tokens, prompt, candidate):
    """The official ``reduction='none'`` loss of one row alone: the mean over every
    shifted position, the non-target ones counting as zero."""
    embeds, mask, labels = model.build_training_inputs(
        image_tokens, [DataSample(prompt=prompt, answer=candidate)])
    logits = model.llm(inputs_embeds=embeds, attention_mask=mask).logits
    losses = F.cross_entropy(logits[0, :-1].float(), labels[0, 1:], reduction='none')
    return losses.mean().item()


def test_candidates_are_ranked_by_the_official_score(tiny_v2):
    torch.manual_seed(0)
    images = torch.rand(2, 3, 448, 448) * 255
    candidates = [['a cat', 'a dog', 'three small birds'], ['yes', 'no']]
    samples = [DataSample(question=f'[vqa] Q{i}?', candidates=c) for i, c in enumerate(candidates)]
    with torch.no_grad():
        data = tiny_v2.data_preprocessor(dict(inputs=images.to(torch.uint8),
                                              data_samples=samples))
        predicted = tiny_v2.predict(data['images'], data['data_samples'])
        image_tokens = tiny_v2.extract_image_tokens(data['images'])
        for i, sample in enumerate(predicted):
            prompt = tiny_v2.prediction_prompt(sample)
            expected = [official_multi_select_score(tiny_v2, image_tokens[i:i + 1], prompt, c)
                        for c in candidates[i]]
            assert sample.pred_candidate_scores == pytest.approx(expected, rel=1e-4)
            best = min(range(len(expected)), key=expected.__getitem__)
            assert sample.pred_candidate_index == best
            assert sample.pred_answer == candidates[i][best]
            assert 'pred_bboxes' not in sample


@pytest.mark.parametrize('candidates', [[], 'yes', ['yes', ''], [1, 2]])
def test_bad_candidates_are_an_error(tiny_v2, candidates):
    with pytest.raises(ValueError, match='Sample 0: `candidates`'):
        tiny_v2.predict(torch.zeros(1, 3, 448, 448),
                        [DataSample(question='Q?', candidates=candidates)])


def test_predict_reads_boxes_in_pixels_of_the_original_image(tiny_v2, monkeypatch):
    answers = ['<p>a cat</p> {<10><20><50><60>}<delim>{<0><0><100><100>} and {<1><2><3><4>}'
               ' {<9><9><5><5>}', 'no box here']
    monkeypatch.setattr(minigpt4_module.MiniGPT4, 'generate',
                        lambda self, tokens, prompts, **kw: answers[:len(prompts)])
    samples = [DataSample(question='[grounding] describe it', metainfo=dict(ori_shape=(300, 200))),
               DataSample(question='[vqa] what?', metainfo=dict(ori_shape=(10, 10)))]
    predicted = tiny_v2.predict(torch.zeros(2, 3, 448, 448), samples)
    first, second = predicted
    assert first.pred_answer == answers[0]
    assert torch.allclose(first.pred_bboxes, torch.tensor(
        [[20., 60, 100, 180], [0, 0, 200, 300], [2, 6, 6, 12]]))
    assert first.pred_phrases == ['a cat', 'a cat', None]
    assert len(first.pred_box_problems) == 1 and 'reversed' in first.pred_box_problems[0]
    assert second.pred_bboxes.shape == (0, 4) and second.pred_phrases == []


def test_boxes_need_the_original_image_size(tiny_v2, monkeypatch):
    monkeypatch.setattr(minigpt4_module.MiniGPT4, 'generate',
                        lambda self, tokens, prompts, **kw: ['{<1><2><3><4>}'])
    with pytest.raises(KeyError, match="keep 'ori_shape' in the PackInputs meta_keys"):
        tiny_v2.predict(torch.zeros(1, 3, 448, 448), [DataSample(question='[refer] cat')])
