"""Long-tailed 8x8 digits: a real, bundled data set (scikit-learn ships it, nothing downloads) for demos and tests.

Also home of :class:`LTDatasetMixin`, the fast label / class-count access shared by ltplug's classification data sets.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ltplug.core.counts import ClassCountsError
from ltplug.core.sampling import exponential_profile

SPLITS = ('train', 'val', 'test')
__all__ = ['DigitsLT', 'LTDatasetMixin', 'exponential_profile']


class LTDatasetMixin:
    """Cached integer labels and ``get_class_counts()`` for mmpretrain data sets (no per-sample deserialisation).

    A subclass stores the labels of the loaded list in ``self._loaded_labels`` inside ``load_data_list``; ``full_init``
    then applies ``indices`` to them. Anything that changes the sample list otherwise (``get_subset``) drops the cache,
    and the labels are then read back from the data infos.
    """

    _loaded_labels: np.ndarray | None = None
    _labels_cache: np.ndarray | None = None

    def full_init(self) -> None:
        """mmengine's full_init, then the labels of the final sample list are cached."""
        if self._fully_initialized:
            return
        self._loaded_labels = None
        super().full_init()
        labels = self._loaded_labels
        if labels is not None and self._indices is not None:
            if isinstance(self._indices, int):
                labels = labels[:self._indices] if self._indices >= 0 else labels[self._indices:]
            else:
                labels = labels[np.asarray(self._indices, dtype=np.int64)]
        if labels is not None and len(labels) != len(self):  # a filter changed the list: do not trust the cache
            labels = None
        self._labels_cache = labels
        self._loaded_labels = None

    def get_subset_(self, indices):
        """mmengine's in-place subset; drops the label cache."""
        super().get_subset_(indices)
        self._labels_cache = None

    def get_subset(self, indices):
        """mmengine's subset copy; the copy re-reads its labels."""
        sub = super().get_subset(indices)
        sub._labels_cache = None
        return sub

    def get_gt_labels(self) -> np.ndarray:
        """The integer label of every sample (int64), cached."""
        if not self._fully_initialized:
            self.full_init()
        if self._labels_cache is None or len(self._labels_cache) != len(self):
            self._labels_cache = np.array([int(self.get_data_info(i)['gt_label']) for i in range(len(self))],
                                          dtype=np.int64)
        return self._labels_cache.copy()

    def get_cat_ids(self, idx: int) -> list[int]:
        """Category of one sample (used by mmengine's class-aware wrappers)."""
        labels = self.get_gt_labels() if self._labels_cache is None else self._labels_cache
        return [int(labels[idx])]

    def get_class_counts(self) -> np.ndarray:
        """Number of samples of each class in this split (length ``len(CLASSES)``)."""
        labels = self.get_gt_labels()
        num_classes = len(self.CLASSES) if self.CLASSES else int(labels.max()) + 1
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ClassCountsError(f'{type(self).__name__}: labels outside [0, {num_classes})')
        return np.bincount(labels, minlength=num_classes).astype(np.int64)


def _split_ranks(labels: np.ndarray, seed: int) -> np.ndarray:
    """Rank of every sample inside its class after a seeded shuffle (vectorised: one permutation + a stable sort)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(labels.size)
    order = perm[np.argsort(labels[perm], kind='stable')]  # class-grouped, random order inside each class
    sorted_labels = labels[order]
    starts = np.searchsorted(sorted_labels, sorted_labels, side='left')
    ranks = np.empty(labels.size, dtype=np.int64)
    ranks[order] = np.arange(labels.size) - starts
    return ranks


@DATASETS.register_module()
class DigitsLT(LTDatasetMixin, BaseDataset):
    """Long-tailed version of scikit-learn's 8x8 digits (1,797 real images, 10 classes; shipped, nothing downloads).

    Per class, a seeded shuffle puts the first ``num_val`` images in ``val``, the next ``num_test`` in ``test`` (both
    balanced) and the rest in the train pool; ``train`` keeps the first n_i = int(n_max * (1/imb_factor)^(i/9)) of the
    pool of class i (class 0 the head). Defaults: n_max 120, imb_factor 20 -> 120, 86, 61, 44, 31, 22, 16, 11, 8, 6
    images (405 in total); val 100 and test 400 images.

    Samples carry ``img`` (8x8x3 uint8, the 0..16 intensities rescaled to 0..255 and replicated to 3 channels),
    ``gt_label`` and ``raw_index`` (the position in ``sklearn.datasets.load_digits()``), so mmpretrain pipelines
    without ``LoadImageFromFile`` apply directly.

    Args:
        split: 'train', 'val' or 'test'.
        imb_factor: n_max / n_min of the training split (>= 1; 1 gives a balanced train split).
        n_max: images of the head class; must not exceed the smallest class's train pool (124 with the defaults).
        seed: seed of the split (the same seed always gives the same split).
        num_val, num_test: balanced per-class sizes of the val / test splits.
        pipeline, test_mode, indices, metainfo, ...: as in mmpretrain's ``BaseDataset``.
    """

    METAINFO = {'classes': tuple(str(i) for i in range(10))}
    NUM_CLASSES = 10

    def __init__(self, split: str = 'train', imb_factor: float = 20, n_max: int = 120, seed: int = 0,
                 num_val: int = 10, num_test: int = 40, pipeline: Sequence = (), test_mode: bool = False,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'DigitsLT: split must be one of {SPLITS}, got {split!r}')
        if num_val < 0 or num_test < 0:
            raise ValueError(f'DigitsLT: num_val / num_test must be >= 0, got {num_val} / {num_test}')
        self.split = split
        self.imb_factor = imb_factor
        self.n_max = int(n_max)
        self.seed = int(seed)
        self.num_val = int(num_val)
        self.num_test = int(num_test)
        # validate the profile before any loading, so a bad config fails at build time with the key named
        self.train_counts = exponential_profile(self.n_max, imb_factor, self.NUM_CLASSES)
        kwargs.setdefault('ann_file', '')
        super().__init__(pipeline=pipeline, test_mode=test_mode, **kwargs)

    @staticmethod
    def _load_raw() -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import load_digits
        digits = load_digits()
        return np.asarray(digits.images, dtype=np.float64), np.asarray(digits.target, dtype=np.int64)

    def load_data_list(self) -> list[dict]:
        images, labels = self._load_raw()
        pool = np.bincount(labels, minlength=self.NUM_CLASSES) - self.num_val - self.num_test
        if self.n_max > pool.min():
            raise ValueError(f'DigitsLT: n_max={self.n_max} exceeds the smallest class train pool ({int(pool.min())} '
                             f'images of class {int(pool.argmin())} after {self.num_val} val + {self.num_test} test); '
                             f'use n_max <= {int(pool.min())}')
        ranks = _split_ranks(labels, self.seed)
        if self.split == 'val':
            keep = ranks < self.num_val
        elif self.split == 'test':
            keep = (ranks >= self.num_val) & (ranks < self.num_val + self.num_test)
        else:
            keep = (ranks >= self.num_val + self.num_test) & \
                (ranks - self.num_val - self.num_test < self.train_counts[labels])
        # order: class by class, rank inside the class (deterministic, independent of the raw file order)
        idx = np.flatnonzero(keep)
        idx = idx[np.lexsort((ranks[idx], labels[idx]))]
        pixels = np.rint(images[idx] * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
        pixels = np.repeat(pixels[..., None], 3, axis=-1)  # N x 8 x 8 x 3
        self._loaded_labels = labels[idx].copy()
        return [{'img': img, 'gt_label': int(lab), 'raw_index': int(i)}
                for img, lab, i in zip(pixels, labels[idx].tolist(), idx.tolist())]

    def extra_repr(self) -> list[str]:
        return [f'split: \t{self.split}', f'imb_factor: \t{self.imb_factor}', f'n_max: \t{self.n_max}',
                f'seed: \t{self.seed}']
