"""MiniGPT-v2 on the tiny model (CPU): the official prompt and target ids (real Llama-2
tokenizer), LoRA that trains with the projection, checkpoints of those only, and merging."""
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.runner import load_checkpoint
from mmpretrain.structures import DataSample
from torch import nn

from conftest import TINY_V2_MODEL_CONFIG, build_tiny_model

from mmpretrain_minigpt4.converters import LoRAUpdate
from mmpretrain_minigpt4.grounding import GridBox, format_box, task_instruction

NUM_IMAGE_TOKENS = 256  # 448 px: 1024 patches, 4 merged into one
# Hand-worked official ids: slow legacy Llama-2 tokenizer, each segment alone (its own '▁').
INST_IMG = [518, 25580, 29962, 529, 25518, 29958]  # '▁[' 'INST' ']' '▁<' 'Img' '>'
CLOSE_IMG = [1533, 25518, 29958]  # '▁</' 'Img' '>'
CLOSE_INST = [518, 29914, 25580, 29962]  # '▁[' '/' 'INST' ']'
LONE_SPACE = 29871  # '▁': the second of training's two spaces before '[/INST]'
# '{<10><20><30><40>}' + '</s>': '▁{' '<' '1' '0' '><' '2' '0' '><' '3' '0' '><' '4' '0' '>' '}'
BOX_TARGET_IDS = [426, 29966, 29896, 29900, 5299, 29906, 29900, 5299, 29941, 29900, 5299, 29946,
                  29900, 29958, 29913, 2]
INSTRUCTIONS = {
    # task -> (instruction, ids of ' ' + instruction)
    'vqa': ('[vqa] What is in the image?',
            [518, 29894, 25621, 29962, 1724, 338, 297, 278, 1967, 29973]),
    # '▁[' 'refer' ']' '▁give' '▁me' '▁the' '▁location' '▁of' '▁the' '▁red' '▁car'
    'refer': (task_instruction('refer', 1, 'the red car'),
              [518, 20275, 29962, 2367, 592, 278, 4423, 310, 278, 2654, 1559]),
    # '▁[' 'ground' 'ing' ']' '▁please' '▁describe' '▁this' '▁image' '▁in' '▁details'
    'grounding': (task_instruction('grounding', 0),
                  [518, 2057, 292, 29962, 3113, 8453, 445, 1967, 297, 4902]),
    # '▁[' 'd' 'ete' 'ction' ']' '▁a' '▁red' '▁car'
    'detection': (task_instruction('detection', 0, 'a red car'),
                  [518, 29881, 2650, 428, 29962, 263, 2654, 1559]),
    # '▁[' 'ident' 'ify' ']' '▁what' '▁object' '▁is' '▁in' '▁this' '▁location', then the
    # box: '▁{' '<' '1' '0' '><' '2' '0' '><' '3' '0' '><' '4' '0' '>' '}'
    'identify': (task_instruction('identify', 1, '{<10><20><30><40>}'),
                 [518, 1693, 1598, 29962, 825, 1203, 338, 297, 445, 4423] + BOX_TARGET_IDS[:-1]),
    # '▁[' 'caption' ']' '▁Br' 'ief' 'ly' '▁describe' '▁this' '▁image' '.'
    'caption': (task_instruction('caption', 0),
                [518, 6671, 29962, 1771, 2575, 368, 8453, 445, 1967, 29889]),
}


def build_tiny_v2(seed: int = 0, **overrides):
    return build_tiny_model(seed, TINY_V2_MODEL_CONFIG, **overrides)


@pytest.fixture(scope='module')
def tiny_v2():
    """Shared, not to be modified."""
    return build_tiny_v2()


def lora_names(model):
    return {n for n, _ in model.named_parameters() if '.lora_' in n}


@pytest.mark.parametrize('task', sorted(INSTRUCTIONS))
def test_training_prompt_ids_are_the_official_ones(tiny_v2, task):
    instruction, instruction_ids = INSTRUCTIONS[task]
    prompt = tiny_v2.training_prompt(DataSample(instruction=instruction))
    # The datasets' '<Img><ImageHere></Img> {} ' inside '[INST] {} [/INST]'.
    assert prompt == f'[INST] <Img><ImageHere></Img> {instruction}  [/INST]'
    # A BOS embedding, then the segments without special tokens.
    assert tiny_v2.prompt_token_ids(prompt) == (
        [1] + INST_IMG, CLOSE_IMG + instruction_ids + [LONE_SPACE] + CLOSE_INST)


@pytest.mark.parametrize('task', sorted(INSTRUCTIONS))
def test_evaluation_prompt_ids_are_the_official_ones(tiny_v2, task):
    instruction, instruction_ids = INSTRUCTIONS[task]
    for sample in (DataSample(instruction=instruction), DataSample(question=instruction)):
        prompt = tiny_v2.prediction_prompt(sample)
        # eval_utils.prepare_texts: the chat's first turn, one space before '[/INST]'.
        assert prompt == f'<s>[INST] <Img><ImageHere></Img> {instruction} [/INST]'
        # The tokenizer's BOS, then the '<s>' written in the text: a double BOS.
        assert tiny_v2.prompt_token_ids(prompt) == (
            [1, 1] + INST_IMG, CLOSE_IMG + instruction_ids + CLOSE_INST)


def test_box_answer_targets_and_labels_are_the_official_ones(tiny_v2):
    answer = format_box(GridBox(10, 20, 30, 40))
    assert tiny_v2.target_token_ids(answer) == BOX_TARGET_IDS
    instruction, instruction_ids = INSTRUCTIONS['refer']
    image_tokens = torch.randn(1, NUM_IMAGE_TOKENS, 64)
    embeds, mask, labels = tiny_v2.build_training_inputs(
        image_tokens, [DataSample(instruction=instruction, answer=answer)])
    prompt_length = 1 + len(INST_IMG) + NUM_IMAGE_TOKENS + len(CLOSE_IMG) + len(
        instruction_ids) + 1 + len(CLOSE_INST)
    assert labels[0].tolist() == [-100] * prompt_length + BOX_TARGET_IDS
    assert embeds.shape == (1, prompt_length + len(BOX_TARGET_IDS), 64)
    assert mask.sum() == embeds.shape[1]
    image_at = 1 + len(INST_IMG)
    torch.testing.assert_close(embeds[0, image_at:image_at + NUM_IMAGE_TOKENS], image_tokens[0])


def test_lora_starts_at_zero_and_the_runners_init_keeps_it(tiny_v2):
    model = build_tiny_v2()
    model.init_weights()  # the Runner does this before training
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, tiny_v2.state_dict()[name], msg=name)
    lora_b = [p for n, p in model.named_parameters() if '.lora_B.' in n]
    assert len(lora_b) == 4 and all((p == 0).all() for p in lora_b)
    assert model.trainable_parameter_names() == {'head.proj.weight', 'head.proj.bias',
                                                 *lora_names(model)}


def train_steps(model, steps=2):
    """AdamW steps (no weight decay: only gradients move weights) on one pair."""
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optim_wrapper = OptimWrapper(torch.optim.AdamW(trainable, lr=1e-2, weight_decay=0))
    sample = DataSample(instruction=INSTRUCTIONS['refer'][0],
                        answer=format_box(GridBox(10, 20, 30, 40)))
    images = torch.randn(1, 3, 448, 448)
    for _ in range(steps):
        optim_wrapper.update_params(model.loss(images, [sample])['loss'])
    return model.eval()


def test_training_changes_lora_and_the_projection_not_the_base_weights():
    model = build_tiny_v2()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    # LoRA dropout trains as officially; the frozen ViT and LLM stay in eval mode.
    assert not model.llm.training and not model.vision_encoder.training
    assert all(m.lora_dropout['default'].training
               for m in model.llm.modules() if hasattr(m, 'lora_dropout'))
    train_steps(model)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == {'head.proj.weight', 'head.proj.bias', *lora_names(model)}
    assert all(not (p == 0).all() for n, p in model.named_parameters() if '.lora_B.' in n)
    assert not any(m.lora_dropout['default'].training
                   for m in model.llm.modules() if hasattr(m, 'lora_dropout'))


@pytest.fixture(scope='module')
def trained_v2():
    return train_steps(build_tiny_v2(seed=3))


def test_checkpoint_holds_projection_and_lora_and_loads(trained_v2, tmp_path):
    state = trained_v2.state_dict()
    assert set(state) == {'head.proj.weight', 'head.proj.bias', *lora_names(trained_v2)}
    path = str(tmp_path / 'iter_2.pth')
    torch.save(dict(state_dict=state, meta=dict(iter=2)), path)
    fresh = build_tiny_v2(seed=4)
    frozen_before = fresh.llm.model.layers[0].self_attn.q_proj.base_layer.weight.clone()
    load_checkpoint(fresh, path, map_location='cpu')
    for name, value in state.items():
        torch.testing.assert_close(fresh.state_dict()[name], value, msg=name)
    assert torch.equal(fresh.llm.model.layers[0].self_attn.q_proj.base_layer.weight,
                       frozen_before)


def test_merged_lora_gives_the_same_outputs_as_kept_lora(trained_v2):
    model = build_tiny_v2(seed=3)
    model.load_state_dict(trained_v2.state_dict())
    images = torch.randn(2, 3, 448, 448)
    samples = [DataSample(instruction=INSTRUCTIONS['vqa'][0], answer='A red car.'),
               DataSample(instruction=INSTRUCTIONS['refer'][0], answer='{<1><2><3><4>}')]
    embeds, mask, _ = model.build_training_inputs(model.extract_image_tokens(images), samples)
    q_proj = model.llm.model.layers[1].self_attn.q_proj
    expected = LoRAUpdate(q_proj.lora_A['default'].weight, q_proj.lora_B['default'].weight, 0.25,
                          'tiny').delta() + q_proj.base_layer.weight
    kept = model.llm(inputs_embeds=embeds, attention_mask=mask).logits
    answers = model.generate(model.extract_image_tokens(images),
                             [model.prediction_prompt(s) for s in samples], max_new_tokens=4)

    assert model.merge_lora() == 4
    merged = model.llm(inputs_embeds=embeds, attention_mask=mask).logits
    torch.testing.assert_close(merged, kept, rtol=1e-5, atol=1e-5)
    assert model.generate(model.extract_image_tokens(images),
                          [model.prediction_prompt(s) for s in samples],
                          max_new_tokens=4) == answers
    merged_q_proj = model.llm.model.layers[1].self_attn.q_proj
    assert type(merged_q_proj) is nn.Linear
    # The same weights as the directory merge of the converter.
    assert torch.equal(merged_q_proj.weight, expected)
    # A plain LLM again: its original keys, only the projection trains and is saved.
    assert sorted(model.state_dict()) == ['head.proj.bias', 'head.proj.weight']
    assert 'llm.model.layers.0.self_attn.q_proj.weight' in model.frozen_parameter_names()
    with pytest.raises(ValueError, match=r'no LoRA \(model.llm.lora is unset\)'):
        model.merge_lora()


@pytest.mark.parametrize('lora, message', [
    (dict(r=0, alpha=16), 'model.llm.lora.r must be a positive integer'),
    (dict(r=4, alpha=1, dropout=1.0), r'model.llm.lora.dropout must be in \[0, 1\)'),
    (dict(r=4, alpha=1, target_modules=['qkv']), "no linear layer named \\['qkv'\\]"),
    (dict(r=4, alpha=1, rank=8), 'model.llm.lora must be a dict with keys among'),
])
def test_bad_lora_settings_are_named(lora, message):
    with pytest.raises(ValueError, match=message):
        build_tiny_v2(llm=dict(lora=lora))  # merged into the tiny config's LoRA


def test_llm_gradient_checkpointing_gives_lora_the_same_gradients():
    grads = []
    for checkpointing in (False, True):
        model = build_tiny_v2(llm_gradient_checkpointing=checkpointing,
                              llm=dict(lora=dict(dropout=0.0)))
        for name, param in model.named_parameters():
            if '.lora_B.' in name:
                nn.init.normal_(param)  # non-zero B: gradients reach A too
        model.train()
        torch.manual_seed(1)
        sample = DataSample(instruction=INSTRUCTIONS['vqa'][0], answer='A cat.')
        model.loss(torch.randn(1, 3, 448, 448), [sample])['loss'].backward()
        grads.append({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
    assert set(grads[0]) == set(grads[1]) == model.trainable_parameter_names()
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, msg=name)
