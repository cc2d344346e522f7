"""Stage-1 image-caption pairs (LAION, CC, SBU) read straight from img2dataset's tar shards."""
import glob
import json
import os
import os.path as osp
from typing import Optional, Sequence, Union

from mmengine.dataset.base_dataset import force_full_init
from mmpretrain.registry import DATASETS

from .image_text_dataset import BadSampleError, ImageTextDataset, check_caption, decode_image
from .webdataset_index import (IMAGE_EXTENSIONS, NO_MEMBER, TEXT_EXTENSIONS,
                               default_index_file, load_shard_index)


def default_index_cache_dir() -> str:
    """``$XDG_CACHE_HOME/mmpretrain_minigpt4/webdataset_index`` (``~/.cache`` by default)."""
    cache_home = os.environ.get('XDG_CACHE_HOME', osp.join('~', '.cache'))
    return osp.join(osp.expanduser(cache_home), 'mmpretrain_minigpt4', 'webdataset_index')


@DATASETS.register_module()
class ImageTextShardDataset(ImageTextDataset):
    """Image-caption pairs in webdataset tar shards, as a map-style dataset.

    A sample is the members of one key: an image (``{key}.jpg``, or ``.jpeg``,
    ``.png``, ``.webp``) and a caption, ``caption`` of ``{key}.json``
    (img2dataset's metadata, what the official loader reads) or else the
    text of ``{key}.txt``. The byte ranges of every sample come from an index
    (see :mod:`.webdataset_index`), so samplers, DDP sharding and resuming
    work as for any MMEngine dataset.

    Data info after loading: ``img`` (H, W, 3) BGR uint8, ``gt_caption``
    (raw caption), ``sample_key``, ``shard``, ``sample_idx``, ``ori_shape``,
    ``img_shape``.

    Args:
        shards (str | Sequence[str]): Tar files or glob patterns (e.g.
            ``'laion/*.tar'``), relative to ``data_root``. Matches are sorted.
        data_root (str): Root of ``shards``. Defaults to ''.
        pipeline (Sequence[dict]): Transforms. Defaults to ().
        index_file (str, optional): Cache file of the index (``.npz``).
            Defaults to a file under :func:`default_index_cache_dir` named by
            the hash of the absolute shard patterns.
        on_bad_sample (str): ``'error'`` or ``'skip'``, see
            :class:`ImageTextDataset`. Defaults to 'error'.
        **kwargs: ``test_mode``, ``lazy_init``, ``max_refetch`` of
            :class:`mmengine.dataset.BaseDataset`.

    Raises:
        ValueError: At build (or ``full_init`` with ``lazy_init``), if a shard
            is not a complete tar archive, or the shards hold no sample.
    """

    def __init__(self,
                 shards: Union[str, Sequence[str]],
                 data_root: str = '',
                 pipeline: Sequence[dict] = (),
                 index_file: Optional[str] = None,
                 on_bad_sample: str = 'error',
                 **kwargs):
        unsupported = sorted({'ann_file', 'data_prefix', 'filter_cfg', 'indices'} & set(kwargs))
        if unsupported:
            raise TypeError(f'{type(self).__name__} does not support {unsupported}: the shards '
                            'are its annotations; select them with `shards`.')
        patterns = [shards] if isinstance(shards, str) else list(shards)
        self.shard_patterns = [osp.abspath(osp.join(osp.expanduser(data_root), p))
                               for p in patterns]
        self.index_file = index_file or default_index_file(
            self.shard_patterns, default_index_cache_dir())
        self.shard_paths, self.index = [], {}
        super().__init__(
            data_root=data_root, pipeline=pipeline, on_bad_sample=on_bad_sample,
            serialize_data=False, **kwargs)

    def _find_shards(self) -> list:
        paths = []
        for pattern in self.shard_patterns:
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise FileNotFoundError(
                    f'No webdataset shard matches {pattern!r}: check `shards` and `data_root` '
                    f'of {type(self).__name__}.')
            paths.extend(matches)
        return paths

    def full_init(self) -> None:
        """Find the shards and load (or build) their index."""
        if self._fully_initialized:
            return
        self.shard_paths = self._find_shards()
        self.index = load_shard_index(self.shard_paths, self.index_file)
        if len(self.index['key']) == 0:
            shown = ', '.join(self.shard_paths[:3]) + (', ...' if len(self.shard_paths) > 3 else '')
            raise ValueError(f'{type(self).__name__} is empty: its {len(self.shard_paths)} '
                             f'shard(s) hold no member named {{key}}.{{extension}}: {shown}')
        self._fully_initialized = True

    @force_full_init
    def __len__(self) -> int:
        return len(self.index['key'])

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Where the sample's members are (nothing is read here)."""
        info = {name: values[idx].item() for name, values in self.index.items()}
        info['shard'] = self.shard_paths[info.pop('shard_id')]
        info['sample_key'] = info.pop('key').decode('utf-8')
        info['sample_idx'] = idx
        return info

    def sample_location(self, data_info: dict) -> str:
        return f"{data_info['shard']} (key {data_info['sample_key']!r})"

    def load_sample(self, data_info: dict) -> dict:
        location = self.sample_location(data_info)
        if data_info['image_offset'] == NO_MEMBER:
            raise BadSampleError(
                f'no image member ({"/".join(IMAGE_EXTENSIONS)}) for this key', location)
        if data_info['text_kind'] == NO_MEMBER:
            raise BadSampleError(
                f'no text member ({"/".join(TEXT_EXTENSIONS)}) for this key', location)
        with open(data_info['shard'], 'rb') as shard:
            image_bytes = _read_range(shard, data_info['image_offset'], data_info['image_size'],
                                      location)
            text_bytes = _read_range(shard, data_info['text_offset'], data_info['text_size'],
                                     location)
        extension = TEXT_EXTENSIONS[data_info['text_kind']]
        text_member = f"{data_info['shard']} (member '{data_info['sample_key']}.{extension}')"
        caption = _caption_from_member(text_bytes, extension, text_member)
        img = decode_image(image_bytes, location)
        return dict(
            data_info,
            img=img,
            gt_caption=check_caption(caption, text_member),
            ori_shape=img.shape[:2],
            img_shape=img.shape[:2])


def _read_range(shard, offset: int, size: int, location: str) -> bytes:
    shard.seek(offset)
    data = shard.read(size)
    if len(data) != size:
        raise BadSampleError(f'shard is truncated ({len(data)} of {size} bytes)', location)
    return data


def _caption_from_member(data: bytes, extension: str, location: str):
    """The caption in a ``txt`` member (all of it) or a ``json`` one (its ``caption``)."""
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as error:
        raise BadSampleError(f'text is not UTF-8 ({error})', location) from None
    if extension == 'txt':
        return text
    try:
        metadata = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadSampleError(f'invalid JSON ({error})', location) from None
    if not isinstance(metadata, dict) or 'caption' not in metadata:
        raise BadSampleError('JSON has no "caption" field', location)
    return metadata['caption']
