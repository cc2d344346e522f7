"""The base of MiniGPT-v2's stage-3 VQA, caption, LLaVA and text-only datasets: JSON
annotation files -> samples of an instruction and its answer, or of a conversation.

The texts are drawn when a sample is read (an instruction from a pool, one of
several answers), with numpy's global RNG, which MMEngine seeds; the image is
decoded then too. The model puts the image prompt and its conversation template
around the texts.
"""
from typing import Any, List, Optional, Sequence, Tuple, Union

from ..annotation_files import (AnnotationFileError, expect_entries, expect_fields, expect_type,
                                json_path, load_json)
from .image_instruction_dataset import ImageInstructionDataset


def expect_text(value: Any, path: str, where: str) -> str:
    """``value`` if it is a string, else :class:`AnnotationFileError`."""
    return expect_type(value, str, path, where, 'a string')


def expect_texts(value: Any, path: str, where: str) -> List[str]:
    """``value`` if it is a non-empty list of strings, else :class:`AnnotationFileError`
    naming the first wrong element."""
    expect_type(value, list, path, where, 'a list of strings')
    if not value:
        raise AnnotationFileError(path, 'expected a non-empty list of strings, got []', where)
    for position, text in enumerate(value):
        expect_text(text, path, f'{where}[{position}]')
    return value


def annotation_list(content: Any, path: str) -> List[Tuple[str, Any]]:
    """``(json path, entry)`` of a LAVIS annotation file's entries: the file is a list,
    or an object whose ``annotations`` is one (the official loader reads both)."""
    if isinstance(content, dict):
        entries = expect_fields(content, ('annotations', ), path, '')['annotations']
        expect_type(entries, list, path, 'annotations', 'a list')
        return [(json_path('annotations', position), entry)
                for position, entry in enumerate(entries)]
    expect_type(content, list, path, '', 'a list of annotations')
    return [(json_path(position), entry) for position, entry in enumerate(content)]


class JsonAnnotationDataset(ImageInstructionDataset):
    """Samples of an instruction and an answer, or of a conversation, read from
    one or more JSON annotation files.

    Subclasses set the defaults ``default_ann_file`` and ``default_img_folder``
    (``None`` for text-only data), and implement :meth:`parse_annotations`
    (one file's content -> data infos with ``image_id``, ``img_path`` and
    ``key``, where the entry is in its file, for messages) and
    :meth:`draw_texts` (a data info -> its text fields, drawn with
    ``np.random``), which takes the place of
    :meth:`ImageInstructionDataset.instruction_and_answer`: the texts do not
    depend on the image, and are drawn before it is read.

    Data info after loading: the text fields, ``img`` (H, W, 3) BGR uint8,
    ``ori_shape``, ``img_shape`` (not for text-only data), what
    :meth:`parse_annotations` gave, ``ann_file_index`` (which file) and
    ``sample_idx``.

    Args:
        data_root (str): The root of ``ann_file`` and ``data_prefix``.
        ann_file (str | Sequence[str], optional): Annotation file(s), read in
            order into one dataset. Defaults to ``default_ann_file``.
        data_prefix (dict, optional): ``dict(img_path=image folder)``.
            Defaults to ``dict(img_path=default_img_folder)``; not accepted
            by text-only datasets.
        pipeline (Sequence[dict]): Transforms. Defaults to ().
        on_bad_sample (str): ``'error'`` or ``'skip'``, see
            :class:`ImageTextDataset`. Defaults to 'error'.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments.

    Raises:
        FileNotFoundError: If an annotation file does not exist.
        AnnotationFileError: If a file is not JSON, an entry lacks a field or
            has one of the wrong type, or a file gives no sample.
    """

    default_ann_file: Union[str, Tuple[str, ...]] = ''
    default_img_folder: Optional[str] = None
    entry_description = 'annotations'

    def __init__(self,
                 data_root: str,
                 ann_file: Union[str, Sequence[str], None] = None,
                 data_prefix: Optional[dict] = None,
                 pipeline=(),
                 on_bad_sample: str = 'error',
                 **kwargs):
        if self.default_img_folder is None:
            if data_prefix is not None:
                raise TypeError(f'{type(self).__name__} has no images; it takes no data_prefix.')
            data_prefix = {}
        elif data_prefix is None:
            data_prefix = dict(img_path=self.default_img_folder)
        super().__init__(
            ann_file=self.default_ann_file if ann_file is None else ann_file,
            data_root=data_root, data_prefix=data_prefix,
            pipeline=pipeline, on_bad_sample=on_bad_sample, **kwargs)

    def _join_prefix(self):
        # The official reads a list of files for some datasets (COCO-VQA: train and val).
        names = (self.ann_file, ) if isinstance(self.ann_file, str) else tuple(self.ann_file)
        if not names or not all(isinstance(name, str) and name for name in names):
            raise ValueError(f'{type(self).__name__}: ann_file must be a file name or a list of '
                             f'them, got {self.ann_file!r}.')
        self.ann_file = ''
        super()._join_prefix()
        self.ann_files = tuple(self.join_data_root(name) for name in names)
        self.ann_file = self.ann_files[0] if len(self.ann_files) == 1 else self.ann_files

    def parse_annotations(self, content: Any, path: str) -> List[dict]:
        """The data infos of one annotation file's ``content``."""
        raise NotImplementedError

    def draw_texts(self, data_info: dict) -> dict:
        """The text fields of a sample (``instruction`` and ``answer``, or
        ``conversation``), drawn at random where the official draws.

        Raises:
            BadSampleError: If a text is empty (after cleaning).
        """
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        data_list = []
        for index, path in enumerate(self.ann_files):
            self.require_file(path, f'{type(self).__name__} annotation file')
            infos = self.parse_annotations(load_json(path), path)
            for info in expect_entries(infos, path, self.entry_description):
                info['ann_file_index'] = index
            data_list.extend(infos)
        return data_list

    def sample_location(self, data_info: dict) -> str:
        return f"{self.ann_files[data_info['ann_file_index']]} ({data_info['key']})"

    def load_sample(self, data_info: dict) -> dict:
        sample = dict(data_info, **self.draw_texts(data_info))
        if self.default_img_folder is not None:
            sample.update(self.read_image(data_info))
        return sample
