"""What ltplug's classification data sets share: fast label access, argument checks and the long-tailed subsampling.

- :class:`LTDatasetMixin`: cached integer labels and ``get_class_counts()`` for mmpretrain data sets.
- :func:`check_imb_factor`: the imbalance factor of a config, checked where it enters (the key is named).
- :func:`split_ranks`: every sample's rank inside its class after a seeded shuffle (balanced val / test carving).
- :func:`long_tail_indices`: the per-class subsample of the official CIFAR-LT ``gen_imbalanced_data``
  (docs/methods.md §0.2), generalised to any label array, a class order and a pool of allowed samples.
"""
from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import numpy as np

from ltplug.core.counts import ClassCountsError

__all__ = ['LTDatasetMixin', 'check_imb_factor', 'split_ranks', 'long_tail_indices', 'check_class_order']


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


def check_imb_factor(value, owner: str, key: str = 'imb_factor') -> float:
    """``value`` as a float >= 1 (n_max / n_min), else a ValueError naming ``owner`` and the config ``key``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(float(value)) or value < 1:
        raise ValueError(f'{owner}: {key} must be >= 1 (a number, n_max / n_min, e.g. 100; the official code\'s '
                         f'0.01 is {key}=100), got {value!r}')
    return float(value)


def check_class_order(class_order: Sequence[int] | None, num_classes: int, owner: str) -> np.ndarray:
    """The head-to-tail class order (``class_order[0]`` gets n_max) as an int64 array; identity when None."""
    if class_order is None:
        return np.arange(num_classes, dtype=np.int64)
    if isinstance(class_order, (str, bytes)) or not isinstance(class_order, Sequence):
        raise ValueError(f'{owner}: class_order must be a list of class indices, got {class_order!r}')
    order = np.asarray([int(c) for c in class_order], dtype=np.int64)
    if sorted(order.tolist()) != list(range(num_classes)):
        raise ValueError(f'{owner}: class_order must list every class index 0..{num_classes - 1} exactly once '
                         f'(head first), got {list(class_order)}')
    return order


def split_ranks(labels: np.ndarray, seed: int) -> np.ndarray:
    """Rank of every sample inside its class after a seeded shuffle (vectorised: one permutation + a stable sort)."""
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(labels.size)
    order = perm[np.argsort(labels[perm], kind='stable')]  # class-grouped, random order inside each class
    sorted_labels = labels[order]
    starts = np.searchsorted(sorted_labels, sorted_labels, side='left')
    ranks = np.empty(labels.size, dtype=np.int64)
    ranks[order] = np.arange(labels.size) - starts
    return ranks


def long_tail_indices(labels: np.ndarray, counts_by_class: np.ndarray, seed: int = 0,
                      pool: np.ndarray | None = None) -> np.ndarray:
    """Indices the official ``gen_imbalanced_data`` keeps, class-grouped in ascending label order.

    One ``np.random.RandomState(seed)``; for each class present in ``labels`` in ascending order, the class's indices
    (ascending, restricted to ``pool`` when given) are shuffled and the first ``counts_by_class[c]`` kept. With the
    identity class order and no pool this is the official call sequence, so the indices match it exactly.
    """
    labels = np.asarray(labels, dtype=np.int64)
    allowed = np.ones(labels.size, dtype=bool) if pool is None else np.asarray(pool, dtype=bool)
    rng = np.random.RandomState(int(seed))
    kept = []
    for cls in np.unique(labels):  # the official code loops over np.unique(targets): one shuffle per class
        idx = np.flatnonzero((labels == cls) & allowed)
        rng.shuffle(idx)
        kept.append(idx[:int(counts_by_class[cls])])
    return np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
