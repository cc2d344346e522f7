"""The real Llama-2 tokenizer with the official (slow, legacy) semantics."""
import pytest
from transformers import PreTrainedTokenizerFast

from mmpretrain_minigpt4.models.tokenizers import LlamaSentencePieceTokenizer
from mmpretrain_minigpt4.package_files import resolve_package_path

LLAMA2_TOKENIZER_JSON = 'pkg://wordllama/wordllama/tokenizers/l2_supercat_tokenizer_config.json'


def test_known_official_ids(tokenizer):
    assert (tokenizer.bos_id, tokenizer.eos_id, tokenizer.unk_id) == (1, 2, 0)
    assert tokenizer.vocab_size == 32000
    assert tokenizer.pad_id == 3997  # '$$', the official pad since Aug. 2023
    # Each separately tokenized segment gets its own dummy-prefix '▁'.
    assert tokenizer.encode('###') == [835]
    assert tokenizer.encode('A dog.###') == [319, 11203, 29889, 2277, 29937]
    assert tokenizer.encode(' Hello') == [29871, 15043]
    assert tokenizer.encode('Hello', add_bos=True) == [1, 15043]
    # Llama-2 stage-2 prompt tail ends with a lone '▁' (id 29871), as officially.
    assert tokenizer.encode('</Img> Describe this image. [/INST] ')[-1] == 29871


def test_special_tokens_in_text_become_their_ids(tokenizer):
    assert tokenizer.encode('A dog.</s>') == [319, 11203, 29889, 2]
    # The Llama-2 chat template's literal <s> is a second BOS in the prompt.
    assert tokenizer.encode('<s>[INST] hi', add_bos=True) == [1, 1, 518, 25580, 29962, 7251]


def test_plain_text_matches_transformers_fast_tokenizer(tokenizer):
    fast = PreTrainedTokenizerFast(tokenizer_file=resolve_package_path(LLAMA2_TOKENIZER_JSON))
    for text in ['###Human: <Img>', '</Img> What is it? ###Assistant: ', 'a cat\n',
                 '  two  spaces', 'naïve café 123', '日本語']:
        assert tokenizer.encode(text) == fast(text, add_special_tokens=False)['input_ids'], text


def test_decode_drops_special_and_pad_ids(tokenizer):
    ids = [1] + tokenizer.encode('A dog.###') + [3997, 2]
    assert tokenizer.decode(ids) == 'A dog.###'


def test_pad_token_is_configurable():
    tok = LlamaSentencePieceTokenizer(tokenizer_json=LLAMA2_TOKENIZER_JSON, pad_token='</s>')
    assert tok.pad_id == 2


def test_missing_tokenizer_file_names_the_setting(tmp_path):
    with pytest.raises(FileNotFoundError, match='model.tokenizer.model_file'):
        LlamaSentencePieceTokenizer(model_file=str(tmp_path / 'tokenizer.model'))
    with pytest.raises(ValueError, match='exactly one'):
        LlamaSentencePieceTokenizer()


def test_model_file_gives_the_same_ids(tmp_path, tokenizer):
    model_file = tmp_path / 'tokenizer.model'
    model_file.write_bytes(tokenizer.sp_model.serialized_model_proto())
    from_file = LlamaSentencePieceTokenizer(model_file=str(model_file))
    assert from_file.encode('###Human: <Img>') == tokenizer.encode('###Human: <Img>')
