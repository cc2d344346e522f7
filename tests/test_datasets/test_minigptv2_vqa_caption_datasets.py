"""MiniGPT-v2 stage-3 VQA and caption training sets: COCO-VQA, OK-VQA, A-OKVQA, GQA,
OCR-VQA, COCO captions, TextCaps (official files -> ``[vqa]`` / ``[caption]`` samples).

The mini data (tests/data/minigptv2_train) is laid out as the official README
lays out the data folder; the expected strings below are written by hand with
the official rules (``blip_caption``: lower-case, ``. ! " ( ) * # : ; ~``
become spaces, spaces collapsed, stripped).
"""
import os.path as osp
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from minigpt4_mini_data import dataset_test_env, mmengine_log  # noqa: F401
from minigptv2_mini_data import (CAT, COCO_IMAGES, CUP, CUP_FILE, MINI, from_json, load_packed,
                                 write_json)

from mmpretrain_minigpt4.datasets.annotation_files import AnnotationFileError
from mmpretrain_minigpt4.datasets.image_text_dataset import BadSampleError
from mmpretrain_minigpt4.datasets.minigptv2 import (AOKVQATrainDataset, COCOCaptionTrainDataset,
                                                    COCOVQATrainDataset, GQATrainDataset,
                                                    OCRVQATrainDataset, OKVQATrainDataset,
                                                    TextCapsTrainDataset)
from mmpretrain_minigpt4.datasets.minigptv2.vqa_datasets import draw_answer

pytestmark = pytest.mark.usefixtures('dataset_test_env')

SHORT_ANSWER = '[vqa] Based on the image, respond to this question with a short answer: '
CAPTION_INSTRUCTIONS = {  # the official 17, each after '[caption] '
    '[caption] Briefly describe this image.',
    '[caption] Provide a concise depiction of this image.',
    '[caption] Present a short description of this image.',
    '[caption] Summarize this image in a few words.',
    '[caption] A short image caption:',
    '[caption] A short image description:',
    '[caption] A photo of ',
    '[caption] An image that shows ',
    '[caption] Write a short description for the image. ',
    '[caption] Write a description for the photo.',
    '[caption] Provide a description of what is presented in the photo.',
    '[caption] Briefly describe the content of the image.',
    '[caption] Can you briefly explain what you see in the image?',
    '[caption] Could you use a few words to describe what you perceive in the photo?',
    '[caption] Please provide a short depiction of the picture.',
    '[caption] Using language, provide a short account of the image.',
    '[caption] Use a few words to illustrate what is happening in the picture.',
}


def draws(dataset, idx, times, seed=0):
    """``times`` draws of the texts of sample ``idx`` (no image decoding)."""
    np.random.seed(seed)
    info = dataset.get_data_info(idx)
    return [dataset.draw_texts(info) for _ in range(times)]


def frequencies(values):
    return {value: count / len(values) for value, count in Counter(values).items()}


# (dataset, sample, the question after blip_caption, the answers it can get, image)
VQA_SAMPLES = {
    'coco_vqa': (COCOVQATrainDataset, 0, "what color is the cat's fur?",
                 {'orange', 'ginger', 'brown'}, f'coco/images/{CAT}.jpg'),
    'ok_vqa': (OKVQATrainDataset, 0, 'what breed is this animal?', {'tabby', 'domestic shorthair'},
               f'coco/images/{CAT}.jpg'),
    # From direct_answers only: never a choice ('roasted beans', ...).
    'aok_vqa': (AOKVQATrainDataset, 0, 'what is the drink in the cup made from?',
                {'coffee beans', 'beans', 'coffee'}, f'coco/images/{CUP}.jpg'),
    'gqa': (GQATrainDataset, 1, 'what is the man wearing?', {'space suit'},
            'gqa/images/2354786.jpg'),
    'ocrvqa': (OCRVQATrainDataset, 0, 'who wrote this book?', {'jane q doe'},
               'ocrvqa/images/1609214654.jpg'),
}


@pytest.mark.parametrize('name', VQA_SAMPLES)
def test_vqa_sample_is_a_vqa_instruction_and_a_cleaned_answer(name):
    cls, idx, question, answers, image = VQA_SAMPLES[name]
    dataset = cls(data_root=MINI)
    np.random.seed(0)
    samples = [dataset[idx] for _ in range(30)]
    assert {sample['instruction'] for sample in samples} == {f'[vqa] {question}',
                                                            SHORT_ANSWER + question}
    assert {sample['answer'] for sample in samples} == answers
    sample = samples[0]
    assert sample['img_path'] == osp.join(MINI, image)
    assert sample['image_id'] == osp.splitext(osp.basename(image))[0]
    rgb = np.asarray(Image.open(sample['img_path']).convert('RGB'))
    np.testing.assert_array_equal(sample['img'], rgb[..., ::-1])
    assert sample['ori_shape'] == sample['img_shape'] == rgb.shape[:2]


def test_coco_vqa_reads_train_and_val_and_drops_questions_without_their_image():
    with mmengine_log() as log:
        dataset = COCOVQATrainDataset(data_root=MINI)
    assert dataset.ann_file == (osp.join(MINI, 'vqav2/vqa_train.json'),
                                osp.join(MINI, 'vqav2/vqa_val.json'))
    # vqa_val.json's questions are about val2014 images, absent as officially.
    assert [info['question'] for info in dataset] == [
        "What color is the cat's fur?", 'Is the cat asleep?', 'What is in the cup?']
    assert log == [f'COCOVQATrainDataset: dropped 2 of 5 questions whose image is not in '
                   f'{COCO_IMAGES} (as the official does).']
    kept = COCOVQATrainDataset(data_root=MINI, drop_missing_images=False)
    assert len(kept) == 5
    with pytest.raises(BadSampleError, match=r'vqav2/vqa_val\.json \(\[0\]\): image file not '
                                             r'found: .*/COCO_val2014_000000200001\.jpg$'):
        kept[3]


@pytest.mark.parametrize('cls, size', [(OKVQATrainDataset, 2), (AOKVQATrainDataset, 1),
                                       (GQATrainDataset, 2), (OCRVQATrainDataset, 3)])
def test_number_of_samples(cls, size):
    """OK-VQA and A-OKVQA drop a question without its image; OCR-VQA keeps split 1."""
    assert len(cls(data_root=MINI)) == size


def test_answers_are_drawn_with_their_frequency_as_weight():
    texts = draws(COCOVQATrainDataset(data_root=MINI), 0, 2000)
    # 6 x 'orange' + 1 x 'Orange.' (the same after blip_caption), 2 x 'ginger', 1 x 'brown'.
    answers = frequencies([text['answer'] for text in texts])
    assert answers.keys() == {'orange', 'ginger', 'brown'}
    for answer, weight in {'orange': 0.7, 'ginger': 0.2, 'brown': 0.1}.items():
        assert answers[answer] == pytest.approx(weight, abs=0.03)
    instructions = frequencies([text['instruction'] for text in texts])
    assert instructions["[vqa] what color is the cat's fur?"] == pytest.approx(0.5, abs=0.03)

    texts = draws(AOKVQATrainDataset(data_root=MINI), 0, 2000)
    answers = frequencies([text['answer'] for text in texts])
    for answer, weight in {'coffee beans': 0.5, 'beans': 0.3, 'coffee': 0.2}.items():
        assert answers[answer] == pytest.approx(weight, abs=0.03)


def test_draw_answer_weights_by_frequency():
    np.random.seed(0)
    drawn = frequencies([draw_answer(['two', '2', 'two', 'two']) for _ in range(4000)])
    assert drawn['two'] == pytest.approx(0.75, abs=0.02)
    assert drawn['2'] == pytest.approx(0.25, abs=0.02)
    assert draw_answer(['yes']) == 'yes'


def test_draws_are_reproducible_under_a_seed():
    dataset = COCOVQATrainDataset(data_root=MINI)
    assert draws(dataset, 0, 20, seed=3) == draws(dataset, 0, 20, seed=3)
    assert draws(dataset, 0, 20, seed=3) != draws(dataset, 0, 20, seed=4)


def test_pipeline_packs_instruction_answer_and_meta():
    inputs, sample = load_packed(dict(type='GQATrainDataset', data_root=MINI), 0, 448)
    assert inputs.shape == (3, 448, 448)
    assert sample.instruction in {'[vqa] is the astronaut holding a flag?',
                                  SHORT_ANSWER + 'is the astronaut holding a flag?'}
    assert sample.answer == 'yes'
    assert sample.image_id == '2354786'
    assert sample.img_path == osp.join(MINI, 'gqa/images/2354786.jpg')


def test_ocrvqa_keeps_split_1_and_names_images_by_book_id():
    dataset = OCRVQATrainDataset(data_root=MINI)
    assert [(info['question'], info['answers']) for info in dataset] == [
        ('Who wrote this book?', ['Jane Q. Doe']),
        ('What is the title of this book?', ['A Page of Text']),
        ('Is this a comedy book?', ['No'])]
    sample = dataset[2]
    assert sample['answer'] == 'no'
    # page is a grey photo: three equal channels.
    np.testing.assert_array_equal(sample['img'][..., 0], sample['img'][..., 2])


def test_ocrvqa_image_extension_comes_from_the_url(tmp_path):
    write_json(tmp_path / 'ocrvqa/dataset.json', {'0000000001': dict(
        imageURL='http://example.com/images/I/abc.png', questions=['Who?'], answers=['Me'],
        split=1)})
    dataset = OCRVQATrainDataset(data_root=str(tmp_path))
    assert dataset.get_data_info(0)['img_path'] == str(tmp_path / 'ocrvqa/images/0000000001.png')


def test_coco_caption_keeps_train_images_and_cleans_the_caption():
    dataset = COCOCaptionTrainDataset(data_root=MINI)
    # The val2014 caption of Karpathy's train split is dropped, as officially.
    assert [(info['image_id'], info['caption']) for info in dataset] == [
        (CAT, 'An orange cat with its eyes half closed.'),
        (CAT, 'A ginger tabby cat (looking sleepy) '),
        (CUP, 'A cup of coffee on a saucer with a spoon.')]
    texts = draws(dataset, 1, 400)
    assert {text['instruction'] for text in texts} == CAPTION_INSTRUCTIONS
    assert {text['answer'] for text in texts} == {'a ginger tabby cat looking sleepy'}
    sample = dataset[2]
    assert sample['instruction'] in CAPTION_INSTRUCTIONS
    assert sample['answer'] == 'a cup of coffee on a saucer with a spoon'
    assert sample['img_path'] == CUP_FILE
    assert sample['ori_shape'] == (107, 160)


def test_textcaps_one_sample_per_caption():
    dataset = TextCapsTrainDataset(data_root=MINI)
    texts = draws(dataset, 0, 400)
    assert {text['instruction'] for text in texts} == CAPTION_INSTRUCTIONS
    np.random.seed(0)
    samples = [dataset[idx] for idx in range(len(dataset))]
    assert [sample['answer'] for sample in samples] == [
        'a sign that says image processing in large letters',
        'black text on a white background image processing']
    assert samples[0]['image_id'] == '011e7e629fb9ae7b'
    assert samples[0]['img_path'] == osp.join(MINI, 'textcaps/train_images/011e7e629fb9ae7b.jpg')
    assert samples[0]['ori_shape'] == (61, 160)


def test_lavis_object_with_annotations_is_read(tmp_path):
    write_json(tmp_path / 'gqa/train_balanced_questions.json', {'annotations': [
        dict(image='2354786.jpg', question='Where?', answer='Space!')]})
    dataset = GQATrainDataset(data_root=str(tmp_path), data_prefix=dict(img_path=osp.join(
        MINI, 'gqa/images')))
    assert dataset.get_data_info(0)['key'] == 'annotations[0]'
    assert dataset[0]['answer'] == 'space'


QUESTION = dict(question='What?', answer=['a', 'b'], image='train2014/x.jpg')
# (dataset, file content, message)
BAD_FILES = {
    'empty file': (COCOVQATrainDataset, '', r'a\.json:1:1: invalid JSON: Expecting value'),
    'no question': (COCOVQATrainDataset, [], r'a\.json: no questions: the dataset would be empty'),
    'not a list': (COCOVQATrainDataset, 'true', r'a\.json: expected a list of annotations, got '
                                               r'bool'),
    'missing answer': (COCOVQATrainDataset, [dict(question='What?', image='x.jpg')],
                       r'a\.json: \[0\]: missing field "answer" \(has "question", "image"\)'),
    'answer not a list': (OKVQATrainDataset, [dict(QUESTION, answer='a')],
                          r'a\.json: \[0\]\.answer: expected a list of strings, got str'),
    'answer not a string': (COCOVQATrainDataset, [dict(QUESTION, answer=['a', 2])],
                            r'a\.json: \[0\]\.answer\[1\]: expected a string, got int'),
    'no answer': (COCOVQATrainDataset, [dict(QUESTION, answer=[])],
                  r'a\.json: \[0\]\.answer: expected a non-empty list of strings, got \[\]'),
    'question not a string': (COCOVQATrainDataset, [QUESTION, dict(QUESTION, question=None)],
                              r'a\.json: \[1\]\.question: expected a string, got NoneType'),
    'a-okvqa without direct answers': (
        AOKVQATrainDataset, [dict(question='What?', choices=['a'], image='x.jpg')],
        r'a\.json: \[0\]: missing field "direct_answers" \(has "question", "choices", "image"\)'),
    'gqa answer not a string': (GQATrainDataset, [dict(QUESTION, image='x.jpg')],
                                r'a\.json: \[0\]\.answer: expected a string, got list'),
    'annotations not a list': (GQATrainDataset, {'annotations': {}},
                               r'a\.json: annotations: expected a list, got dict'),
    'ocrvqa not an object': (OCRVQATrainDataset, [],
                             r'a\.json: expected an object of books by id, got list'),
    'ocrvqa without split': (OCRVQATrainDataset, {'1': {'imageURL': 'a.jpg'}},
                             r'a\.json: \["1"\]: missing field "split" \(has "imageURL"\)'),
    'ocrvqa answers missing': (
        OCRVQATrainDataset, {'1': dict(imageURL='a.jpg', questions=['Who?', 'What?'],
                                       answers=['Me'], split=1)},
        r'a\.json: \["1"\]: 2 questions but 1 answers'),
    'ocrvqa answer not a string': (
        OCRVQATrainDataset, {'1': dict(imageURL='a.jpg', questions=['Who?'], answers=[1], split=1)},
        r'a\.json: \["1"\]\.answers\[0\]: expected a string, got int'),
    'ocrvqa no train book': (
        OCRVQATrainDataset, {'1': dict(imageURL='a.jpg', questions=['Who?'], answers=['Me'],
                                       split=2)},
        r'a\.json: no questions of split 1: the dataset would be empty'),
    'caption missing': (COCOCaptionTrainDataset, [dict(image='train2014/x.jpg')],
                        r'a\.json: \[0\]: missing field "caption" \(has "image"\)'),
    'no train caption': (COCOCaptionTrainDataset, [dict(image='val2014/x.jpg', caption='A cat')],
                         r'a\.json: no captions of train images: the dataset would be empty'),
    'textcaps without data': (TextCapsTrainDataset, {'dataset_type': 'train'},
                              r'a\.json: missing field "data" \(has "dataset_type"\)'),
    'textcaps caption missing': (TextCapsTrainDataset, {'data': [{'image_id': 'ab'}]},
                                 r'a\.json: data\[0\]: missing field "caption_str" \(has '
                                 r'"image_id"\)'),
}


@pytest.mark.parametrize('cls, content, message', BAD_FILES.values(), ids=list(BAD_FILES))
def test_bad_annotation_file_names_file_and_entry(tmp_path, cls, content, message):
    with pytest.raises(AnnotationFileError, match=message):
        from_json(cls, tmp_path, content)


def test_no_question_with_its_image_is_an_error(tmp_path):
    write_json(tmp_path / 'vqav2/vqa_train.json', [QUESTION])
    with pytest.raises(AnnotationFileError, match=r'vqa_train\.json: no question has its image '
                                                  r'in .*coco/images: the dataset would be empty'):
        COCOVQATrainDataset(data_root=str(tmp_path), ann_file='vqav2/vqa_train.json')


def test_missing_annotation_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'COCOVQATrainDataset annotation file not found: '
                                                r'.*vqav2/vqa_train\.json'):
        COCOVQATrainDataset(data_root=str(tmp_path))
    with pytest.raises(ValueError, match=r'ann_file must be a file name or a list of them'):
        COCOVQATrainDataset(data_root=str(tmp_path), ann_file=[])


def test_text_empty_after_cleaning_is_a_bad_sample(tmp_path):
    questions = [dict(image='2354786.jpg', question='...', answer='yes'),
                 dict(image='2354786.jpg', question='Why?', answer='Because')]
    images = dict(img_path=osp.join(MINI, 'gqa/images'))
    dataset = from_json(GQATrainDataset, tmp_path, questions, data_prefix=images)
    with pytest.raises(BadSampleError, match=r"a\.json \(\[0\]\): question '\.\.\.' is empty "
                                             r'after blip_caption$'):
        dataset[0]
    skipping = from_json(GQATrainDataset, tmp_path, questions, data_prefix=images,
                         on_bad_sample='skip')
    np.random.seed(0)
    with mmengine_log() as log:
        assert skipping[0]['answer'] == 'because'
    assert skipping.num_skipped == len(log) >= 1
