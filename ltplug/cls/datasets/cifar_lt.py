"""CIFAR-10-LT / CIFAR-100-LT exactly as the official code builds them (docs/methods.md §0.2).

The train split keeps n_i = int(n_max * (1/imb_factor)^(i/(C-1))) images of class i (n_max 5000 / 500, class 0 the
head), chosen like ``IMBALANCECIFAR10.gen_imbalanced_data``: the numpy RNG seeded once with ``rand_number`` (0),
then, class by class in label order, the class's indices are shuffled and the first n_i kept; the result is
class-grouped in that order. A private ``np.random.RandomState(rand_number)`` makes the same call sequence as seeding
the global RNG, without touching global state. The test split stays the balanced original. Images and labels come from
mmpretrain's CIFAR10 / CIFAR100 loader (the standard python pickles under ``data_root``); nothing is ever downloaded.
"""
from __future__ import annotations

import os.path as osp

import numpy as np
from mmengine.fileio import exists, join_path
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.datasets.utils import check_md5
from mmpretrain.registry import DATASETS

from ltplug.core.sampling import exponential_profile

from .base import LTDatasetMixin, check_imb_factor, long_tail_indices


def cifar_lt_indices(labels: np.ndarray, num_classes: int, n_max: int, imb_factor: float,
                     rand_number: int = 0) -> np.ndarray:
    """Indices the official ``gen_imbalanced_data`` keeps (class-grouped, in its order): class i keeps n_i."""
    return long_tail_indices(labels, exponential_profile(n_max, imb_factor, num_classes), rand_number)


class _CIFARLTMixin(LTDatasetMixin):
    """Shared part of CIFAR10LT / CIFAR100LT (must precede the mmpretrain CIFAR class in the bases)."""

    N_MAX = 0
    NUM_CLASSES = 0

    def _lt_init(self, split: str, imb_factor: float, rand_number: int, n_max: int | None, check_md5: bool,
                 kwargs: dict) -> None:
        if kwargs.pop('download', False):
            raise ValueError(f'{type(self).__name__}: download=True is not supported; put the python pickles under '
                             f'data_root/{self.base_folder} (see docs/datasets.md)')
        self.imb_factor = check_imb_factor(imb_factor, type(self).__name__)
        self.rand_number = int(rand_number)
        self.n_max = int(n_max or self.N_MAX)
        self.check_md5 = check_md5
        self.img_num_per_cls = exponential_profile(self.n_max, imb_factor, self.NUM_CLASSES)
        if split not in ('train', 'test'):
            raise ValueError(f'{type(self).__name__}: split must be "train" or "test", got {split!r}')

    def _check_integrity(self) -> bool:
        """The split's pickles must exist (md5-checked when ``check_md5``); a clear error instead of a download."""
        root = self.data_prefix['root']
        entries = self.train_list if self.split == 'train' else self.test_list
        for filename, md5 in entries:
            fpath = join_path(root, self.base_folder, filename)
            if not exists(fpath):
                raise FileNotFoundError(
                    f'{type(self).__name__}: {fpath} not found. Expected the standard python version of the data set '
                    f'({osp.basename(self.url)}, extracted) under data_root: <data_root>/{self.base_folder}/'
                    f'{{{", ".join(n for n, _ in self.train_list + self.test_list)}}}; nothing is downloaded.')
            if self.check_md5 and md5 is not None and not check_md5(fpath, md5):
                raise ValueError(f'{type(self).__name__}: {fpath} does not have the md5 of the official file '
                                 f'({md5}); pass check_md5=False for a re-packed copy')
        return True

    def load_data_list(self) -> list[dict]:
        data_list = super().load_data_list()
        labels = np.fromiter((d['gt_label'] for d in data_list), dtype=np.int64, count=len(data_list))
        if self.split == 'train':
            present = np.bincount(labels, minlength=self.NUM_CLASSES)
            if present.size != self.NUM_CLASSES or np.any(present < self.img_num_per_cls):
                raise ValueError(f'{type(self).__name__}: the train pickles have per-class counts {present.tolist()}'
                                 f', fewer than the requested n_i {self.img_num_per_cls.tolist()}')
            keep = cifar_lt_indices(labels, self.NUM_CLASSES, self.n_max, self.imb_factor, self.rand_number)
            data_list = [data_list[i] for i in keep.tolist()]
            labels = labels[keep]
        self._loaded_labels = labels
        return data_list

    def extra_repr(self) -> list[str]:
        return [f"Prefix of data: \t{self.data_prefix['root']}", f'split: \t{self.split}',
                f'imb_factor: \t{self.imb_factor}', f'n_max: \t{self.n_max}']


@DATASETS.register_module()
class CIFAR10LT(_CIFARLTMixin, CIFAR10):
    """CIFAR-10-LT: train n_i = int(5000 * (1/imb_factor)^(i/9)) (IF 100: 12,406 images), test the balanced 10,000.

    Args:
        data_root: directory holding ``cifar-10-batches-py`` (the standard python pickles).
        split: 'train' (long-tailed) or 'test' (balanced).
        imb_factor: n_max / n_min, e.g. 100, 50, 10 (the official code's ``imb_factor`` 0.01 is 1 / this).
        rand_number: the numpy seed of the subsampling (0 in the official code).
        n_max: head-class size (default 5000).
        check_md5: verify the pickles against the official md5 sums (turn off for re-packed or generated files).
    """

    N_MAX = 5000
    NUM_CLASSES = 10

    def __init__(self, data_root: str = '', split: str = 'train', imb_factor: float = 100, rand_number: int = 0,
                 n_max: int | None = None, check_md5: bool = True, **kwargs) -> None:
        self._lt_init(split, imb_factor, rand_number, n_max, check_md5, kwargs)
        super().__init__(data_root=data_root, split=split, download=False, **kwargs)


@DATASETS.register_module()
class CIFAR100LT(_CIFARLTMixin, CIFAR100):
    """CIFAR-100-LT: train n_i = int(500 * (1/imb_factor)^(i/99)) (IF 100: 10,847 images), test the balanced 10,000.

    Arguments as :class:`CIFAR10LT`; ``data_root`` holds ``cifar-100-python``; n_max defaults to 500.
    """

    N_MAX = 500
    NUM_CLASSES = 100

    def __init__(self, data_root: str = '', split: str = 'train', imb_factor: float = 100, rand_number: int = 0,
                 n_max: int | None = None, check_md5: bool = True, **kwargs) -> None:
        self._lt_init(split, imb_factor, rand_number, n_max, check_md5, kwargs)
        super().__init__(data_root=data_root, split=split, download=False, **kwargs)
