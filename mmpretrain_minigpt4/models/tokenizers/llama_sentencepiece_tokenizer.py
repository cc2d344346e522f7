"""Llama tokenization exactly as the official MiniGPT-4 (slow, legacy ``LlamaTokenizer``)."""
import json
import os.path as osp
import re
from typing import List, Optional, Sequence

from mmpretrain.registry import TOKENIZER
from sentencepiece import SentencePieceProcessor
from sentencepiece import sentencepiece_model_pb2 as sp_model_pb2

from ...package_files import resolve_package_path

# Special tokens are cut out of the text before sentencepiece sees it, as the
# slow tokenizer's no-split tokens are; each remaining chunk gets its own
# dummy-prefix '▁' (the legacy behaviour the checkpoints were trained with).
SPECIAL_TOKENS = ('<unk>', '<s>', '</s>')
_SPECIAL_SPLIT = re.compile('(' + '|'.join(re.escape(t) for t in SPECIAL_TOKENS) + ')')


def sentencepiece_model_from_tokenizer_json(path: str) -> bytes:
    """Rebuild a Llama sentencepiece model from a Hugging Face ``tokenizer.json``.

    The Llama BPE vocabulary's piece order is its merge priority, so scores are
    ``-(id - 259)`` for normal pieces (whitespace-only runs last), which makes
    sentencepiece segment identically to the original ``tokenizer.model``.

    Args:
        path (str): A ``tokenizer.json`` of a Llama-family BPE tokenizer with
            byte fallback (ids 0-2 unk/bos/eos, 3-258 the byte pieces).

    Returns:
        bytes: A serialized sentencepiece ``ModelProto``.
    """
    with open(path, encoding='utf-8') as f:
        model = json.load(f)['model']
    if model.get('type') != 'BPE' or not model.get('byte_fallback'):
        raise ValueError(f'{path}: expected a Llama BPE tokenizer.json with byte_fallback.')
    proto = sp_model_pb2.ModelProto()
    piece_type = sp_model_pb2.ModelProto.SentencePiece
    for token, index in sorted(model['vocab'].items(), key=lambda item: item[1]):
        piece = proto.pieces.add()
        piece.piece = token
        if index == 0:
            piece.type = piece_type.UNKNOWN
        elif index in (1, 2):
            piece.type = piece_type.CONTROL
        elif index <= 258:
            piece.type = piece_type.BYTE
        else:
            piece.type = piece_type.NORMAL
            whitespace_run = len(token) > 1 and set(token) == {'\u2581'}
            piece.score = -1e9 if whitespace_run else -float(index - 259)
    trainer = proto.trainer_spec
    trainer.model_type = sp_model_pb2.TrainerSpec.BPE
    trainer.vocab_size = len(proto.pieces)
    trainer.byte_fallback = True
    trainer.split_digits = True
    trainer.allow_whitespace_only_pieces = True
    trainer.unk_id, trainer.bos_id, trainer.eos_id, trainer.pad_id = 0, 1, 2, -1
    trainer.unk_piece, trainer.bos_piece, trainer.eos_piece = '<unk>', '<s>', '</s>'
    normalizer = proto.normalizer_spec
    normalizer.name = 'identity'
    normalizer.add_dummy_prefix = True
    normalizer.remove_extra_whitespaces = False
    normalizer.escape_whitespaces = True
    return proto.SerializeToString()


@TOKENIZER.register_module()
class LlamaSentencePieceTokenizer:
    """The official MiniGPT-4 Llama / Vicuna tokenizer on plain sentencepiece.

    transformers 5 no longer reproduces the legacy slow ``LlamaTokenizer`` (e.g.
    ``'###'`` and leading spaces encode differently), so ids here come from
    sentencepiece directly and equal the official ones on any transformers.

    Args:
        model_file (str, optional): The LLM's ``tokenizer.model``.
        tokenizer_json (str, optional): A Llama ``tokenizer.json`` to rebuild the
            sentencepiece model from, when there is no ``tokenizer.model``.
            Either may be a ``pkg://<distribution>/<file>`` path.
        pad_token (str): The pad token; ``'$$'`` since Aug. 2023 (``</s>`` in the
            April-2023 code). Only target masking depends on it. Defaults to '$$'.
    """

    def __init__(self,
                 model_file: Optional[str] = None,
                 tokenizer_json: Optional[str] = None,
                 pad_token: str = '$$'):
        if (model_file is None) == (tokenizer_json is None):
            raise ValueError('LlamaSentencePieceTokenizer needs exactly one of '
                             '`model_file` and `tokenizer_json`.')
        self.sp_model = SentencePieceProcessor()
        if model_file is not None:
            model_file = resolve_package_path(model_file)
            if not osp.isfile(model_file):
                raise FileNotFoundError(
                    f'Tokenizer file not found: {model_file!r} (set `model.tokenizer.model_file` '
                    "to the LLM directory's tokenizer.model).")
            self.sp_model.Load(model_file)
        else:
            tokenizer_json = resolve_package_path(tokenizer_json)
            if not osp.isfile(tokenizer_json):
                raise FileNotFoundError(f'Tokenizer file not found: {tokenizer_json!r} '
                                        '(set `model.tokenizer.tokenizer_json`).')
            self.sp_model.LoadFromSerializedProto(
                sentencepiece_model_from_tokenizer_json(tokenizer_json))
        self.pad_token = pad_token
        self.bos_id = self.sp_model.bos_id()
        self.eos_id = self.sp_model.eos_id()
        self.unk_id = self.sp_model.unk_id()
        self.pad_id = self.token_to_id(pad_token)

    @property
    def vocab_size(self) -> int:
        return self.sp_model.get_piece_size()

    def token_to_id(self, token: str) -> int:
        """Id of one piece (``unk`` if absent), like ``convert_tokens_to_ids``."""
        return self.sp_model.piece_to_id(token)

    def encode(self, text: str, add_bos: bool = False) -> List[int]:
        """Token ids of ``text``; special tokens written in the text become their ids."""
        ids = [self.bos_id] if add_bos else []
        for chunk in _SPECIAL_SPLIT.split(text):
            if not chunk:
                continue
            if chunk in SPECIAL_TOKENS:
                ids.append(self.sp_model.piece_to_id(chunk))
            else:
                ids.extend(self.sp_model.encode(chunk))
        return ids

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        """Text of ``ids``; bos, eos, unk and pad are dropped by default."""
        ids = [int(i) for i in ids]
        if skip_special_tokens:
            special = {self.bos_id, self.eos_id, self.unk_id, self.pad_id}
            ids = [i for i in ids if i not in special]
        return self.sp_model.decode(ids)
