"""ImageNet-LT, Places-LT and iNaturalist 2018 from the official ``path label`` list files (docs/methods.md §0.3).

Each line of a list is ``<relative/path> <integer label>``; the label is taken from the file (never re-derived from the
folder name) and the path is joined to ``data_root`` / ``data_prefix``. The split is the list file: ``ann_file`` if
given, else the official file name of ``split`` under ``data_root`` (see ``docs/datasets.md`` for the layout).
"""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import numpy as np
from mmengine.fileio import get_text, join_path
from mmpretrain.datasets import CustomDataset
from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
from mmpretrain.registry import DATASETS

from ltplug.core.counts import ClassCountsError

from .base import LTDatasetMixin


class ListFileError(ValueError):
    """A malformed list file: the message names the file and the line."""


def parse_list_file(path: str, num_classes: int, text: str | None = None) -> tuple[list[str], np.ndarray]:
    """(relative paths, int64 labels) of a ``path label`` list; raises :class:`ListFileError` naming file:line."""
    if text is None:
        if not osp.isfile(path) and '://' not in path:
            raise FileNotFoundError(f'list file not found: {path} (see docs/datasets.md for the expected layout)')
        text = get_text(path)
    paths: list[str] = []
    labels: list[int] = []
    for lineno, raw in enumerate(text.splitlines(), 1):  # parsing text is inherently per line (one pass, at load)
        line = raw.strip()
        if not line:
            continue
        fields = line.rsplit(None, 1)
        if len(fields) != 2:
            raise ListFileError(f'{path}:{lineno}: expected "<relative/path> <integer label>", got {line!r}')
        try:
            label = int(fields[1])
        except ValueError:
            raise ListFileError(f'{path}:{lineno}: the label {fields[1]!r} is not an integer (line {line!r})') from None
        if not 0 <= label < num_classes:
            raise ListFileError(f'{path}:{lineno}: label {label} is outside [0, {num_classes}) '
                                f'(num_classes={num_classes}; wrong list or num_classes?)')
        paths.append(fields[0].strip())
        labels.append(label)
    if not paths:
        raise ListFileError(f'{path}: the list file has no samples')
    return paths, np.asarray(labels, dtype=np.int64)


class ListLTDataset(LTDatasetMixin, CustomDataset):
    """Base of the list-file long-tailed data sets (mmpretrain ``CustomDataset`` with a validated ``path label`` list).

    Args:
        data_root: dataset root; the list paths and ``ann_file`` are relative to it.
        split: 'train' | 'val' | 'test'; picks the official list name under ``data_root`` when ``ann_file`` is empty.
        ann_file: the list file (overrides ``split``'s default name).
        num_classes: number of classes (labels must lie in [0, num_classes)); default: the benchmark's.
        data_prefix: extra prefix joined between ``data_root`` and each listed path (default none).
        Other arguments are those of mmpretrain's ``CustomDataset`` / ``BaseDataset`` (pipeline, test_mode, ...).
    """

    NUM_CLASSES: int = 0
    DEFAULT_ANN: dict[str, str] = {}
    BENCHMARK = ''

    def __init__(self, data_root: str = '', split: str = 'train', ann_file: str = '', num_classes: int | None = None,
                 data_prefix: str | dict = '', pipeline: Sequence = (), test_mode: bool = False,
                 **kwargs) -> None:
        if split not in self.DEFAULT_ANN:
            raise ValueError(f'{type(self).__name__}: split must be one of {tuple(self.DEFAULT_ANN)}, got {split!r}')
        self.split = split
        self.num_classes = int(num_classes or self.NUM_CLASSES)
        if self.num_classes < 1:
            raise ValueError(f'{type(self).__name__}: num_classes must be >= 1, got {num_classes}')
        if 'classes' not in kwargs and not (kwargs.get('metainfo') or {}).get('classes'):
            kwargs['metainfo'] = {**(kwargs.get('metainfo') or {}), 'classes': self.default_classes()}
        super().__init__(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file or self.DEFAULT_ANN[split],
                         pipeline=pipeline, test_mode=test_mode, with_label=True, **kwargs)
        if self.CLASSES is not None and len(self.CLASSES) != self.num_classes:
            raise ValueError(f'{type(self).__name__}: {len(self.CLASSES)} class names but num_classes='
                             f'{self.num_classes}')

    def default_classes(self) -> tuple[str, ...]:
        """Class names used when the config gives none (class ids as strings)."""
        return tuple(str(i) for i in range(self.num_classes))

    def load_data_list(self) -> list[dict]:
        paths, labels = parse_list_file(self.ann_file, self.num_classes)
        self._loaded_labels = labels
        prefix = self.img_prefix
        return [{'img_path': join_path(prefix, p) if prefix else p, 'gt_label': int(lab)}
                for p, lab in zip(paths, labels.tolist())]

    def get_class_counts(self, allow_empty: bool = False) -> np.ndarray:
        """Images per class in this list; a class without images is an error (unless ``allow_empty``)."""
        counts = np.bincount(self.get_gt_labels(), minlength=self.num_classes).astype(np.int64)
        if counts.size != self.num_classes:
            raise ClassCountsError(f'{self.ann_file}: counts for {counts.size} classes but num_classes='
                                   f'{self.num_classes}')
        empty = np.flatnonzero(counts == 0)
        if empty.size and not allow_empty:
            present = np.flatnonzero(counts)
            hint = ''
            if present.size and present.max() + 1 < self.num_classes:
                hint = (f'; the labels only reach {int(present.max())}: is num_classes={self.num_classes} right '
                        f'for this list?')
            raise ClassCountsError(f'{self.ann_file} ({type(self).__name__} {self.split} split): {empty.size} of '
                                   f'{self.num_classes} classes have no image (first: {empty[:10].tolist()}){hint}')
        return counts

    def extra_repr(self) -> list[str]:
        return [f'Annotation file: \t{self.ann_file}', f'Prefix of images: \t{self.img_prefix}',
                f'split: \t{self.split}', f'num_classes: \t{self.num_classes}']


@DATASETS.register_module()
class ImageNetLT(ListLTDataset):
    """ImageNet-LT (Liu et al. 2019): 1000 classes, train 115,846 (1280..5 per class), val 20,000, test 50,000.

    Default lists under ``data_root``: ImageNet_LT_{train,val,test}.txt; paths like ``train/n01440764/x.JPEG`` (val
    images also come from the ILSVRC train folder, test images are the ILSVRC val set under ``val/<wnid>/``).
    """

    NUM_CLASSES = 1000
    BENCHMARK = 'ImageNet-LT'
    DEFAULT_ANN = {'train': 'ImageNet_LT_train.txt', 'val': 'ImageNet_LT_val.txt', 'test': 'ImageNet_LT_test.txt'}

    def default_classes(self) -> tuple[str, ...]:
        if self.num_classes == len(IMAGENET_CATEGORIES):  # the standard sorted-wnid order the lists use
            return tuple(IMAGENET_CATEGORIES)
        return super().default_classes()


@DATASETS.register_module()
class PlacesLT(ListLTDataset):
    """Places-LT (Liu et al. 2019): 365 classes, train 62,500 (4980..5 per class), val 7,300, test 36,500.

    Default lists under ``data_root``: Places_LT_{train,val,test}.txt.
    """

    NUM_CLASSES = 365
    BENCHMARK = 'Places-LT'
    DEFAULT_ANN = {'train': 'Places_LT_train.txt', 'val': 'Places_LT_val.txt', 'test': 'Places_LT_test.txt'}


@DATASETS.register_module()
class INat2018LT(ListLTDataset):
    """iNaturalist 2018: 8142 classes, train 437,513; the official val list (24,426, 3 per class) is the test set.

    Default lists under ``data_root``: iNaturalist18_train.txt and iNaturalist18_val.txt (``split='test'`` and
    ``split='val'`` both read the val list, as the papers do).
    """

    NUM_CLASSES = 8142
    BENCHMARK = 'iNaturalist 2018'
    DEFAULT_ANN = {'train': 'iNaturalist18_train.txt', 'val': 'iNaturalist18_val.txt',
                   'test': 'iNaturalist18_val.txt'}
