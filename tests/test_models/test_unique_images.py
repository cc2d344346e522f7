"""A batch that repeats images (several questions per image) encodes each image once."""
import torch
from conftest import build_tiny_model
from mmpretrain.structures import DataSample

from mmpretrain_minigpt4.models.unique_images import unique_images


def test_unique_images_merges_exact_repeats_only():
    torch.manual_seed(0)
    a, b, c = torch.randn(3, 3, 8, 8)
    almost_a = a.clone()
    almost_a[0, 0, 0] += 1e-3
    images = torch.stack([a, b, a, almost_a, b, c])
    unique, inverse = unique_images(images)
    assert inverse.tolist() == [0, 1, 0, 2, 1, 3]
    assert torch.equal(unique[inverse], images)
    assert unique_images(torch.stack([a, b, c]))[1] is None
    assert unique_images(a[None])[1] is None


def test_vqa_batch_with_repeated_images_encodes_each_once_and_answers_as_one_by_one():
    model = build_tiny_model(seed=4, generation_cfg=dict(max_new_tokens=5, min_new_tokens=5))
    encoded = []
    model.vision_encoder.register_forward_hook(lambda m, args, out: encoded.append(len(args[0])))
    torch.manual_seed(1)
    two = torch.randn(2, 3, 224, 224)
    images = two[[0, 0, 1, 0, 1]]
    questions = ['What is it?', 'What colour is the large object on the left?', 'Why?',
                 'How many people are in the picture?', 'Is it day or night?']
    batched = model(images, [DataSample(question=q) for q in questions], mode='predict')
    assert encoded == [2]
    for row, question in enumerate(questions):
        alone = model(images[row:row + 1], [DataSample(question=question)], mode='predict')
        assert alone[0].pred_answer == batched[row].pred_answer
