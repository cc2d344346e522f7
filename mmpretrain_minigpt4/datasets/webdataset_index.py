"""Index of the samples in webdataset tar shards (as img2dataset writes them), cached on disk.

Each sample's members are found once by reading the tar headers; their byte
ranges are kept so a sample is later read with one ``seek`` + ``read``, without
extracting anything. The index of every shard is cached with the shard's size
and modification time, so a restart (or a new shard among 10k) scans only what
changed.
"""
import hashlib
import os
import os.path as osp
import pickle
import re
import tarfile
from typing import Dict, List, Sequence

import numpy as np
from mmengine.dist import barrier, is_main_process

IMAGE_EXTENSIONS = ('jpg', 'jpeg', 'png', 'webp')
# Caption sources in the order they are preferred: the official loader reads
# ``json['caption']``; a ``.txt`` member holds the same caption.
TEXT_EXTENSIONS = ('json', 'txt')
NO_MEMBER = -1
INDEX_VERSION = 2
# webdataset's rule: the key is the path up to the first dot of the file name.
_KEY_AND_EXTENSION = re.compile(r'^((?:.*/|)[^./]+)\.([^/]*)$')


def scan_shard(path: str) -> Dict[str, np.ndarray]:
    """Index one uncompressed tar shard.

    Args:
        path (str): The ``.tar`` file.

    Returns:
        dict[str, np.ndarray]: Per sample (in shard order): ``key`` (UTF-8
        bytes: a quarter of the memory of numpy's str, for 100M samples),
        ``image_offset``/``image_size`` and ``text_offset``/``text_size``
        (byte range of the data, offset -1 when the member is missing) and
        ``text_kind`` (index into :data:`TEXT_EXTENSIONS`, -1 when none).

    Raises:
        ValueError: If the file is not a readable tar archive.
    """
    samples: Dict[str, dict] = {}
    try:
        with tarfile.open(path, mode='r:') as archive:
            for member in archive:
                match = _KEY_AND_EXTENSION.match(member.name)
                if not member.isfile() or match is None:
                    continue
                key, extension = match.group(1), match.group(2).lower()
                sample = samples.setdefault(key, {})
                if extension in IMAGE_EXTENSIONS and 'image' not in sample:
                    sample['image'] = (member.offset_data, member.size)
                elif extension in TEXT_EXTENSIONS:
                    kind = TEXT_EXTENSIONS.index(extension)
                    if kind < sample.get('text', (0, 0, len(TEXT_EXTENSIONS)))[2]:
                        sample['text'] = (member.offset_data, member.size, kind)
    except (tarfile.TarError, OSError) as error:
        raise ValueError(f'Cannot read the webdataset shard {path}: {error}') from None
    keys = list(samples)
    image = [samples[k].get('image', (NO_MEMBER, 0)) for k in keys]
    text = [samples[k].get('text', (NO_MEMBER, 0, NO_MEMBER)) for k in keys]
    return dict(
        key=np.array([k.encode('utf-8') for k in keys], dtype=np.bytes_),
        image_offset=np.array([i[0] for i in image], dtype=np.int64),
        image_size=np.array([i[1] for i in image], dtype=np.int32),
        text_offset=np.array([t[0] for t in text], dtype=np.int64),
        text_size=np.array([t[1] for t in text], dtype=np.int32),
        text_kind=np.array([t[2] for t in text], dtype=np.int8))


def _fingerprint(path: str) -> tuple:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def default_index_file(shard_patterns: Sequence[str], cache_dir: str) -> str:
    """Cache file of a dataset, named by the hash of its (absolute) shard patterns.

    Named by the patterns, not by the files they match, so that adding a shard
    reuses the cache and scans only the new shard.
    """
    digest = hashlib.sha1('\n'.join(shard_patterns).encode('utf-8')).hexdigest()[:16]
    return osp.join(cache_dir, f'shards-{digest}.pkl')


def _read_cache(index_file: str) -> dict:
    if not osp.isfile(index_file):
        return {}
    try:
        with open(index_file, 'rb') as f:
            cache = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError):
        return {}  # an unreadable cache is rebuilt, never trusted
    if cache.get('version') != INDEX_VERSION:
        return {}
    return cache['shards']


def _update_cache(shards: Sequence[str], index_file: str) -> dict:
    """Scan the shards that are new or changed since the cache; rewrite it if needed."""
    cached = _read_cache(index_file)
    entries, changed = {}, False
    for path in shards:
        fingerprint = _fingerprint(path)
        entry = cached.get(path)
        if entry is None or entry['fingerprint'] != fingerprint:
            entry = dict(fingerprint=fingerprint, samples=scan_shard(path))
            changed = True
        entries[path] = entry
    if changed or set(cached) != set(entries):
        os.makedirs(osp.dirname(osp.abspath(index_file)), exist_ok=True)
        temporary = f'{index_file}.{os.getpid()}.tmp'
        try:
            with open(temporary, 'wb') as f:
                pickle.dump(dict(version=INDEX_VERSION, shards=entries), f,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, index_file)  # atomic: readers never see half a file
        except OSError:
            if osp.exists(temporary):
                os.remove(temporary)
    return entries


def load_shard_index(shards: Sequence[str], index_file: str) -> Dict[str, np.ndarray]:
    """The index of all ``shards``, from the cache where it is up to date.

    Under DDP the main process scans and writes the cache first; the others
    then read it (and scan only if it could not be written).

    Args:
        shards (Sequence[str]): Absolute paths of the tar shards (at least one).
        index_file (str): The cache file.

    Returns:
        dict[str, np.ndarray]: :func:`scan_shard`'s arrays over all shards
        concatenated, plus ``shard_id`` (index into ``shards``).
    """
    if is_main_process():
        entries = _update_cache(shards, index_file)
    barrier()
    if not is_main_process():
        entries = _update_cache(shards, index_file)
    per_shard: List[Dict[str, np.ndarray]] = [entries[path]['samples'] for path in shards]
    index = {name: np.concatenate([samples[name] for samples in per_shard])
             for name in per_shard[0]}
    index['shard_id'] = np.concatenate(
        [np.full(len(samples['key']), i, dtype=np.int32) for i, samples in enumerate(per_shard)])
    return index
