"""Prompt assembly, target masking and the loss on a hand-worked example (real tokenizer)."""
import pytest
import torch
from mmpretrain.structures import DataSample

from conftest import build_tiny_model

PROMPT = '###Human: <Img><ImageHere></Img> Describe this image. ###Assistant: '
# Hand-worked official ids (slow legacy Llama tokenizer, each segment tokenized alone).
BEFORE_IDS = [1, 835, 29950, 7889, 29901, 529, 25518, 29958]  # [BOS] '###Human: <Img>'
AFTER_IDS = [1533, 25518, 29958, 20355, 915, 445, 1967, 29889, 835, 7900, 22137, 29901, 29871]
TARGET_IDS = [319, 11203, 29889, 2277, 29937]  # 'A dog.' + '###'
NUM_IMAGE_TOKENS = 32


def test_hand_worked_sequence_and_labels(tiny_model):
    image_tokens = torch.randn(1, NUM_IMAGE_TOKENS, 64)
    embeds, mask, labels = tiny_model.build_training_inputs(
        image_tokens, [DataSample(prompt=PROMPT, answer='A dog.')])
    length = len(BEFORE_IDS) + NUM_IMAGE_TOKENS + len(AFTER_IDS) + len(TARGET_IDS)
    assert embeds.shape == (1, length, 64) and mask.tolist() == [[1] * length]
    assert labels[0].tolist() == [-100] * (length - len(TARGET_IDS)) + TARGET_IDS
    table = tiny_model.llm.get_input_embeddings().weight
    image_at = len(BEFORE_IDS)
    after_at = image_at + NUM_IMAGE_TOKENS
    torch.testing.assert_close(embeds[0, :image_at], table[BEFORE_IDS])
    torch.testing.assert_close(embeds[0, image_at:after_at], image_tokens[0])
    torch.testing.assert_close(embeds[0, after_at:], table[AFTER_IDS + TARGET_IDS])


def test_the_models_template_wraps_the_instruction(tiny_model):
    """The pipeline only draws the instruction: the template is the model's alone."""
    image_tokens = torch.randn(1, NUM_IMAGE_TOKENS, 64)
    from_instruction = tiny_model.build_training_inputs(
        image_tokens, [DataSample(instruction='Describe this image.', gt_caption='A dog.')])
    from_prompt = tiny_model.build_training_inputs(
        image_tokens, [DataSample(prompt=PROMPT, answer='A dog.')])
    for ours, expected in zip(from_instruction, from_prompt):
        assert torch.equal(ours, expected)
    llama2 = build_tiny_model(template='llama2')
    assert llama2.training_prompt(DataSample(instruction='Describe it.')) == (
        '[INST] <Img><ImageHere></Img> Describe it. [/INST] ')


def test_samples_that_do_not_fit_the_template_are_refused(tiny_model):
    tokens = torch.randn(1, NUM_IMAGE_TOKENS, 64)
    with pytest.raises(KeyError, match="template 'vicuna_v0' needs an `instruction`"):
        tiny_model.build_training_inputs(tokens, [DataSample(gt_caption='A dog.')])
    stage1 = build_tiny_model(template='pretrain')
    with pytest.raises(ValueError, match="'pretrain' takes no instruction"):
        stage1.build_training_inputs(tokens, [DataSample(instruction='Describe it.',
                                                         gt_caption='a dog')])
    with pytest.raises(KeyError, match='an `answer`, a `gt_caption` or a `conversation`'):
        stage1.build_training_inputs(tokens, [DataSample()])


def test_stage1_sequence_is_bos_image_caption_newline():
    model = build_tiny_model(template='pretrain', max_txt_len=32)
    _, _, labels = model.build_training_inputs(torch.zeros(1, NUM_IMAGE_TOKENS, 64),
                                               [DataSample(answer='a cat')])
    assert labels[0].tolist() == [-100] * (1 + NUM_IMAGE_TOKENS) + [263, 6635, 13]


def test_truncation_and_pad_masking():
    model = build_tiny_model(max_txt_len=3)
    assert model.target_token_ids('A dog.') == TARGET_IDS[:3]  # end_sym cut, as officially
    assert model.target_labels([319, 3997, 2]) == [319, -100, 2]  # '$$' is the pad


def test_loss_equals_transformers_loss_on_the_full_sequence():
    model = build_tiny_model()
    samples = [DataSample(prompt=PROMPT, answer='A dog.'),
               DataSample(prompt='###Human: <Img><ImageHere></Img> Hi ###Assistant: ',
                          answer='A long answer about a small brown dog on grass.')]
    images = torch.randn(2, 3, 224, 224)
    loss = model.loss(images, samples)['loss']
    embeds, mask, labels = model.build_training_inputs(model.extract_image_tokens(images), samples)
    reference = model.llm(inputs_embeds=embeds, attention_mask=mask, labels=labels).loss
    torch.testing.assert_close(loss, reference)
    # Right padding leaks nothing: the batch loss is the token-weighted mean of the samples'.
    sums, counts = [], []
    for i, sample in enumerate(samples):
        single = model.loss(images[i:i + 1], [sample])['loss']
        count = len(model.target_token_ids(sample.answer))
        sums.append(single * count)
        counts.append(count)
    torch.testing.assert_close(loss, sum(sums) / sum(counts))


def test_gradients_reach_only_the_projection():
    model = build_tiny_model().train()
    loss = model.loss(torch.randn(1, 3, 224, 224), [DataSample(prompt=PROMPT, answer='A dog.')])
    loss['loss'].backward()
    with_grad = [n for n, p in model.named_parameters() if p.grad is not None]
    assert with_grad == ['head.proj.weight', 'head.proj.bias']
    assert model.head.proj.weight.grad.abs().sum() > 0
    # Frozen parts stay in eval mode (no Q-Former dropout) even after model.train().
    assert model.training and model.head.training
    assert not any(m.training for m in (model.vision_encoder, model.neck, model.llm))


def test_checkpoint_holds_only_trainable_weights():
    model = build_tiny_model()
    state = model.state_dict()
    assert sorted(state) == ['head.proj.bias', 'head.proj.weight']
    other = build_tiny_model(seed=1)
    result = other.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    torch.testing.assert_close(other.head.proj.weight, model.head.proj.weight)
    full = build_tiny_model(save_frozen_weights=True).state_dict()
    assert 'llm.model.embed_tokens.weight' in full and 'neck.query_tokens' in full


def test_runner_weight_init_keeps_loaded_frozen_weights():
    """The Runner calls model.init_weights() before training: loaded weights must survive."""
    model = build_tiny_model(save_frozen_weights=True)
    loaded = build_tiny_model(seed=1, save_frozen_weights=True)
    loaded.load_state_dict(model.state_dict())
    loaded.init_weights()
    for name, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value, msg=name)
