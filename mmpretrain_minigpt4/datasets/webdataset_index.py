"""Index of the samples in webdataset tar shards (as img2dataset writes them), cached on disk.

Each sample's members are found once by reading the tar headers; their byte
ranges are kept so a sample is later read with one ``seek`` + ``read``, without
extracting anything. The index of every shard is cached with the shard's size
and modification time, so a restart (or a new shard among 10k) scans only what
changed.

The cache is a numpy ``.npz`` read with ``allow_pickle=False``: it is read on
every run from a shared directory, and a pickle there could run any code. It
holds the index arrays of all shards concatenated and ``metadata``, JSON text:
the format version and, per shard, its path, fingerprint and sample count.
"""
import hashlib
import json
import logging
import os
import os.path as osp
import re
import tarfile
from typing import Dict, Sequence

import numpy as np
from mmengine.dist import barrier, is_main_process
from mmengine.logging import print_log
from tqdm import tqdm

IMAGE_EXTENSIONS = ('jpg', 'jpeg', 'png', 'webp')
# Caption sources in the order they are preferred: the official loader reads
# ``json['caption']``; a ``.txt`` member holds the same caption.
TEXT_EXTENSIONS = ('json', 'txt')
NO_MEMBER = -1
INDEX_VERSION = 3
# The arrays of an index and their types; ``key`` is UTF-8 bytes of any width.
INDEX_DTYPES = dict(key=np.dtype(np.bytes_), image_offset=np.dtype(np.int64),
                    image_size=np.dtype(np.int32), text_offset=np.dtype(np.int64),
                    text_size=np.dtype(np.int32), text_kind=np.dtype(np.int8))
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
        ValueError: If the file is not a readable tar archive, or ends before
            a member's data or header does, or has a corrupt header after the
            first member (Python's tarfile stops at those two without an
            error), naming the member. A file that ends between two members
            (no end-of-archive marker) is indexed with a warning.
    """
    samples: Dict[str, dict] = {}
    try:
        file_size = osp.getsize(path)
        with tarfile.open(path, mode='r:') as archive:
            members_end, last_member = 0, None
            for member in archive:
                if member.offset_data + member.size > file_size:
                    raise ValueError(
                        f'{path} is truncated: member {member.name!r} needs bytes up to '
                        f'{member.offset_data + member.size}, the file has {file_size}.')
                blocks = -(-member.size // tarfile.BLOCKSIZE)  # data is padded to whole blocks
                members_end = member.offset_data + blocks * tarfile.BLOCKSIZE
                last_member = member.name
                _add_member(samples, member)
            archive.fileobj.seek(members_end)
            _check_archive_end(path, archive.fileobj.read(tarfile.BLOCKSIZE), members_end,
                               file_size, last_member)
    except (tarfile.TarError, OSError) as error:
        raise ValueError(f'Cannot read the webdataset shard {path}: {error}') from None
    keys = list(samples)
    image = [samples[k].get('image', (NO_MEMBER, 0)) for k in keys]
    text = [samples[k].get('text', (NO_MEMBER, 0, NO_MEMBER)) for k in keys]
    columns = dict(key=[k.encode('utf-8') for k in keys],
                   image_offset=[i[0] for i in image], image_size=[i[1] for i in image],
                   text_offset=[t[0] for t in text], text_size=[t[1] for t in text],
                   text_kind=[t[2] for t in text])
    return {name: np.array(columns[name], dtype=dtype) for name, dtype in INDEX_DTYPES.items()}


def _add_member(samples: Dict[str, dict], member: tarfile.TarInfo) -> None:
    match = _KEY_AND_EXTENSION.match(member.name)
    if not member.isfile() or match is None:
        return
    key, extension = match.group(1), match.group(2).lower()
    sample = samples.setdefault(key, {})
    if extension in IMAGE_EXTENSIONS and 'image' not in sample:
        sample['image'] = (member.offset_data, member.size)
    elif extension in TEXT_EXTENSIONS:
        kind = TEXT_EXTENSIONS.index(extension)
        if kind < sample.get('text', (0, 0, len(TEXT_EXTENSIONS)))[2]:
            sample['text'] = (member.offset_data, member.size, kind)


def _check_archive_end(path: str, block: bytes, offset: int, file_size: int,
                       last_member: str) -> None:
    """What follows the last member tarfile read, ``block``, must be the end-of-archive
    marker (zeros): tarfile also ends without an error at a cut or corrupt header."""
    if not block.strip(b'\0'):
        if not block:
            print_log(f'{path} has no end-of-archive marker: it may have been cut between '
                      'two members. Its complete members are used.', logger='current',
                      level=logging.WARNING)
        return
    # A non-zero block follows a member: tarfile raises on a bad first header itself.
    if len(block) < tarfile.BLOCKSIZE:
        name = block[:100].split(b'\0', 1)[0].decode('utf-8', 'replace')  # the name field
        raise ValueError(f'{path} is truncated: the header of member {name!r} (after member '
                         f'{last_member!r}) needs bytes up to {offset + tarfile.BLOCKSIZE}, the '
                         f'file has {file_size}.')
    raise ValueError(f'{path} has a corrupt member header at byte {offset} (after member '
                     f'{last_member!r}): the members from there on cannot be read.')


def _fingerprint(path: str) -> tuple:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def default_index_file(shard_patterns: Sequence[str], cache_dir: str) -> str:
    """Cache file of a dataset, named by the hash of its (absolute) shard patterns.

    Named by the patterns, not by the files they match, so that adding a shard
    reuses the cache and scans only the new shard.
    """
    digest = hashlib.sha1('\n'.join(shard_patterns).encode('utf-8')).hexdigest()[:16]
    return osp.join(cache_dir, f'shards-{digest}.npz')


def _read_cache(index_file: str) -> Dict[str, tuple]:
    """``{shard path: (fingerprint, index arrays)}`` of the cache, {} if it is unusable."""
    if not osp.isfile(index_file):
        return {}
    try:
        with np.load(index_file, allow_pickle=False) as cache:
            metadata = json.loads(cache['metadata'].item())
            arrays = {name: cache[name] for name in INDEX_DTYPES}
        if metadata['version'] != INDEX_VERSION:
            return {}
        counts = [shard['count'] for shard in metadata['shards']]
        if not all(isinstance(count, int) and count >= 0 for count in counts) or not all(
                _is_index_column(values, name, sum(counts)) for name, values in arrays.items()):
            return {}
        ends = np.cumsum(counts)
        return {shard['path']: (tuple(shard['fingerprint']),
                                {name: values[end - count:end] for name, values in arrays.items()})
                for shard, count, end in zip(metadata['shards'], counts, ends)}
    except Exception:  # whatever is wrong with a cache file, it is rebuilt, never trusted
        return {}


def _is_index_column(values: np.ndarray, name: str, length: int) -> bool:
    expected = INDEX_DTYPES[name]
    same_type = values.dtype.kind == 'S' if expected.kind == 'S' else values.dtype == expected
    return same_type and values.shape == (length,)


def _write_cache(index_file: str, shards: Sequence[str], fingerprints: Sequence[tuple],
                 index: Dict[str, np.ndarray]) -> None:
    counts = np.bincount(index['shard_id'], minlength=len(shards))
    metadata = dict(version=INDEX_VERSION, shards=[
        dict(path=path, fingerprint=list(fingerprint), count=int(count))
        for path, fingerprint, count in zip(shards, fingerprints, counts)])
    os.makedirs(osp.dirname(osp.abspath(index_file)), exist_ok=True)
    temporary = f'{index_file}.{os.getpid()}.tmp'
    try:
        with open(temporary, 'wb') as f:  # a file object: np.savez would add '.npz' to a name
            np.savez(f, metadata=np.array(json.dumps(metadata).encode('ascii')),
                     **{name: index[name] for name in INDEX_DTYPES})
        os.replace(temporary, index_file)  # atomic: readers never see half a file
    except OSError:
        if osp.exists(temporary):
            os.remove(temporary)


def _update_cache(shards: Sequence[str], index_file: str) -> Dict[str, np.ndarray]:
    """The index, scanning the shards that are new or changed since the cache; the
    cache is rewritten if anything differs."""
    cached = _read_cache(index_file)
    fingerprints = [_fingerprint(path) for path in shards]
    per_shard = []
    # Scanning reads every shard once (hours for the 5M stage-1 pairs): show how far.
    for path, fingerprint in tqdm(list(zip(shards, fingerprints)), desc='Indexing shards',
                                  unit='shard', disable=len(shards) < 2):
        entry = cached.get(path)
        per_shard.append(entry[1] if entry is not None and entry[0] == fingerprint
                         else scan_shard(path))
    index = {name: np.concatenate([samples[name] for samples in per_shard])
             for name in INDEX_DTYPES}
    index['shard_id'] = np.concatenate(
        [np.full(len(samples['key']), i, dtype=np.int32) for i, samples in enumerate(per_shard)])
    if list(cached) != list(shards) or any(
            cached[path][0] != fingerprint for path, fingerprint in zip(shards, fingerprints)):
        _write_cache(index_file, shards, fingerprints, index)
    return index


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

    Raises:
        ValueError: If a shard is not a complete tar archive (on every rank).
    """
    index, error = None, None
    if is_main_process():
        try:
            index = _update_cache(shards, index_file)
        except ValueError as bad_shard:
            # Raised after the barrier, so that the other ranks do not wait there
            # forever: they scan the shard themselves and raise the same error.
            error = bad_shard
    barrier()
    if error is not None:
        raise error
    if not is_main_process():
        index = _update_cache(shards, index_file)
    return index
