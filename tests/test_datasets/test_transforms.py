"""blip_caption cleaning and the prompt/answer transform."""
import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS

from minigpt4_mini_data import dataset_test_env  # noqa: F401

from mmpretrain_minigpt4.conversation import ALIGNMENT_INSTRUCTIONS
from mmpretrain_minigpt4.datasets import BadSampleError
from mmpretrain_minigpt4.datasets.transforms import blip_caption

pytestmark = pytest.mark.usefixtures('dataset_test_env')


@pytest.mark.parametrize('raw, cleaned', [
    ('A Dog.', 'a dog'),
    # . ! " ( ) * # : ; ~ become spaces; other punctuation stays.
    ('Hi!"(x)*#y:z;w~v', 'hi x y z w v'),
    ("it's 5-star, $10 & 50% off?", "it's 5-star, $10 & 50% off?"),
    # Runs of 2+ whitespace become one space; a single tab or newline stays.
    ('a  b\t\tc\nd', 'a b c\nd'),
    ('  padded caption \n', 'padded caption'),
])
def test_blip_caption_matches_the_official_rules(raw, cleaned):
    assert blip_caption(raw) == cleaned


def test_blip_caption_keeps_the_first_50_words():
    words = [f'w{i}' for i in range(60)]
    assert blip_caption(' '.join(words)) == ' '.join(words[:50])
    assert blip_caption(' '.join(words), max_words=3) == 'w0 w1 w2'


def test_blip_caption_transform_rejects_captions_emptied_by_cleaning():
    transform = TRANSFORMS.build(dict(type='BlipCaption'))
    assert transform(dict(gt_caption='A (Cat)'))['gt_caption'] == 'a cat'
    with pytest.raises(BadSampleError, match=r"gt_caption '\.\.\. !' is empty after blip_caption"):
        transform(dict(gt_caption='... !'))


def test_random_instruction_draws_the_official_ones_seeded_by_numpy():
    transform = TRANSFORMS.build(dict(type='RandomInstruction'))
    np.random.seed(0)
    results = [transform(dict(gt_caption='A red cup.')) for _ in range(40)]
    assert {r['instruction'] for r in results} == set(ALIGNMENT_INSTRUCTIONS)
    assert all(r['gt_caption'] == 'A red cup.' and 'prompt' not in r for r in results)
    np.random.seed(0)
    again = [transform(dict(gt_caption='A red cup.'))['instruction'] for _ in range(40)]
    assert again == [r['instruction'] for r in results]  # seeded by MMEngine's numpy seed


def test_random_instruction_takes_custom_instructions_and_no_template():
    transform = TRANSFORMS.build(dict(type='RandomInstruction', instructions=['Describe it.']))
    assert transform(dict(text='x')) == dict(text='x', instruction='Describe it.')
    with pytest.raises(ValueError, match='must be non-empty strings'):
        TRANSFORMS.build(dict(type='RandomInstruction', instructions=['ok', ' ']))
    # The template belongs to the model alone.
    with pytest.raises(TypeError, match='template'):
        TRANSFORMS.build(dict(type='RandomInstruction', template='vicuna_v0'))


def test_random_resized_crop_option_is_bicubic_half_to_full_scale():
    crop = TRANSFORMS.build(dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0),
                                 interpolation='bicubic', backend='pillow'))
    img = np.random.RandomState(0).randint(0, 255, (300, 400, 3), dtype=np.uint8)
    np.random.seed(0)
    for _ in range(20):
        _, _, height, width = crop.rand_crop_params(img)
        assert 0.5 <= height * width / (300 * 400) <= 1.0
        assert 3 / 4 <= width / height <= 4 / 3
    assert crop(dict(img=img))['img'].shape == (224, 224, 3)
