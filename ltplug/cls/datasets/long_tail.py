"""A long-tailed view of any balanced mmpretrain data set (FashionMNIST, MNIST, CIFAR-10/100, CustomDataset, ...).

``LongTailSubset`` wraps a built (or config-given) data set and keeps n_i = int(n_max * (1/IF)^(i/(C-1))) images of
the class at position i of ``class_order`` (identity: class 0 the head), chosen as the official CIFAR-LT
``gen_imbalanced_data`` does (docs/methods.md §0.2). Its ``val`` split is a balanced set carved out BEFORE the
subsample with its own ``split_seed``: val never overlaps train whatever ``seed`` a run picks, so calibration
alpha, tau and every other knob can be chosen on val, never on test.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ltplug.core.counts import ClassCountsError, dataset_labels
from ltplug.core.sampling import exponential_profile

from .base import LTDatasetMixin, check_class_order, check_imb_factor, long_tail_indices, split_ranks
from .digits_aux import TRANSFORMS

SPLITS = ('train', 'val')


def _non_negative_int(value, owner: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f'{owner}: {key} must be an integer >= 0, got {value!r}')
    return int(value)


@DATASETS.register_module()
class LongTailSubset:
    """Long-tailed ``train`` subsample / balanced ``val`` carve-out of a balanced data set.

    Per class, a shuffle seeded by ``split_seed`` puts the first ``num_val`` images into ``val``; the rest is the
    class's pool. ``train`` keeps n_i images of each pool, the official way (one ``RandomState(seed)``, one shuffle per
    class in label order, first n_i kept); with ``num_val=0`` and the identity order this reproduces the official
    CIFAR-10/100-LT indices. Images left by both splits are unused.

    Args:
        dataset: the balanced data set, or its config dict.
        split: 'train' (long-tailed) or 'val' (balanced, ``num_val`` per class).
        imb_factor: n_max / n_min (>= 1).
        n_max: images of the head class; default the smallest class pool (all its images).
        seed: seed of the train subsample (``rand_number`` of the official code, 0 there).
        num_val: images per class carved out for ``val`` before the subsample (0: no val split).
        split_seed: seed of the val carve-out; keep it equal across runs to keep val out of every train subsample.
        class_order: class indices from head to tail (``class_order[i]`` gets n_i); default 0, 1, ..., C-1.
    """

    def __init__(self, dataset: dict | object, split: str = 'train', imb_factor: float = 100,
                 n_max: int | None = None, seed: int = 0, num_val: int = 0, split_seed: int = 0,
                 class_order: Sequence[int] | None = None) -> None:
        name = type(self).__name__
        if split not in SPLITS:
            raise ValueError(f'{name}: split must be one of {SPLITS}, got {split!r}')
        self.imb_factor = check_imb_factor(imb_factor, name)
        self.num_val = _non_negative_int(num_val, name, 'num_val')
        if split == 'val' and self.num_val == 0:
            raise ValueError(f"{name}: split='val' needs num_val > 0 (images per class carved out for val)")
        if n_max is not None:
            n_max = _non_negative_int(n_max, name, 'n_max')
            if n_max < 1:
                raise ValueError(f'{name}: n_max must be >= 1, got {n_max}')
        self.split = split
        self.seed = int(seed)
        self.split_seed = int(split_seed)
        self._class_order_arg = class_order
        self._n_max_arg = n_max
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self._fully_initialized = False
        self.full_init()  # a bad argument fails when the config is built

    # ---------------------------------------------------------------------------------------------------------------
    def full_init(self) -> None:
        """Read the wrapped data set's labels once and choose the indices of this split."""
        if self._fully_initialized:
            return
        name = type(self).__name__
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        labels = dataset_labels(self.dataset)
        classes = self.dataset.metainfo.get('classes') if hasattr(self.dataset, 'metainfo') else None
        num_classes = len(classes) if classes else int(labels.max()) + 1
        if labels.size == 0 or labels.min() < 0 or labels.max() >= num_classes:
            raise ClassCountsError(f'{name}: the wrapped {type(self.dataset).__name__} has no samples or labels '
                                   f'outside [0, {num_classes})')
        self.num_classes = num_classes
        self.class_order = check_class_order(self._class_order_arg, num_classes, name)
        present = np.bincount(labels, minlength=num_classes)
        pool_sizes = present - self.num_val
        if np.any(pool_sizes < 1):
            c = int(np.argmin(pool_sizes))
            raise ValueError(f'{name}: class {c} has {int(present[c])} images, not more than num_val={self.num_val}')
        self.n_max = int(pool_sizes.min()) if self._n_max_arg is None else self._n_max_arg
        profile = exponential_profile(self.n_max, self.imb_factor, num_classes)
        counts = np.empty(num_classes, dtype=np.int64)
        counts[self.class_order] = profile  # class_order[i] gets n_i
        short = np.flatnonzero(counts > pool_sizes)
        if short.size:
            c = int(short[0])
            raise ValueError(f'{name}: n_max={self.n_max} asks for {int(counts[c])} images of class {c}, whose pool '
                             f'has {int(pool_sizes[c])} ({int(present[c])} images - num_val={self.num_val}); lower '
                             'n_max or num_val')
        self.train_counts = counts
        ranks = split_ranks(labels, self.split_seed)
        in_val = ranks < self.num_val
        train_idx = long_tail_indices(labels, counts, self.seed, pool=~in_val)
        unused = ~in_val
        unused[train_idx] = False
        self.unused_indices = np.flatnonzero(unused)  # in neither the train subsample nor val
        if self.split == 'val':
            idx = np.flatnonzero(in_val)
            idx = idx[np.lexsort((ranks[idx], labels[idx]))]  # class by class, in carve-out order
        else:
            idx = train_idx
        self.indices = idx.astype(np.int64)
        self._labels = labels[self.indices]
        self._fully_initialized = True

    # --- the mmengine dataset-wrapper interface -------------------------------------------------------------------
    @property
    def metainfo(self) -> dict:
        return dict(getattr(self.dataset, 'metainfo', {}) or {})

    @property
    def pipeline(self):
        """The wrapped data set's pipeline (it runs in ``__getitem__``)."""
        return getattr(self.dataset, 'pipeline', None)

    @property
    def CLASSES(self):  # noqa: N802 (mmpretrain's name)
        return self.metainfo.get('classes')

    def __len__(self) -> int:
        self.full_init()
        return int(self.indices.size)

    def __getitem__(self, idx: int) -> dict:
        self.full_init()
        return self.dataset[int(self.indices[idx])]

    def get_data_info(self, idx: int) -> dict:
        """The wrapped sample's info, plus ``source_index`` (its index in the wrapped data set)."""
        self.full_init()
        src = int(self.indices[idx])
        return dict(self.dataset.get_data_info(src), source_index=src)

    def get_gt_labels(self) -> np.ndarray:
        self.full_init()
        return self._labels.copy()

    def get_cat_ids(self, idx: int) -> list[int]:
        self.full_init()
        return [int(self._labels[idx])]

    def get_class_counts(self) -> np.ndarray:
        """Images of each class in this split (length C)."""
        self.full_init()
        return np.bincount(self._labels, minlength=self.num_classes).astype(np.int64)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(split={self.split!r}, imb_factor={self.imb_factor:g}, n_max={self.n_max}, '
                f'seed={self.seed}, num_val={self.num_val}, split_seed={self.split_seed}, '
                f'{len(self)} of {len(self.dataset)} images of {type(self.dataset).__name__})')


@DATASETS.register_module()
class HeldOutTransformed(LTDatasetMixin, BaseDataset):
    """Open-set auxiliary classes ``'<class>_<transform>'`` from images a :class:`LongTailSubset` leaves unused.

    For category extrapolation (``CategoryExtrapolationDataset``): "coat rotated by 90 degrees" is close to the targets
    without being one. Only images in neither the train subsample nor val of ``subset`` are used (test is a separate
    file), the first ``max_per_class`` of each class in index order; label ``class_index * T + transform_index``.

    Args:
        subset: the config of the target ``LongTailSubset`` (its split is ignored); its wrapped data set must have no
            pipeline (the raw images are transformed here).
        transforms: names from ``rot90``, ``rot180``, ``rot270``, ``hflip``, ``vflip``, ``transpose``.
        max_per_class: held-out images taken per source class (each gives one image per transform).
        pipeline, test_mode, ...: as in mmpretrain's ``BaseDataset``.
    """

    def __init__(self, subset: dict, transforms: Sequence[str] = ('rot90', 'rot180', 'rot270'),
                 max_per_class: int = 200, pipeline: Sequence = (), test_mode: bool = False, **kwargs) -> None:
        name = type(self).__name__
        if isinstance(transforms, str) or not transforms or len(set(transforms)) != len(transforms) or \
                any(t not in TRANSFORMS for t in transforms):
            raise ValueError(f'{name}: transforms must be distinct names from {sorted(TRANSFORMS)}, got {transforms!r}')
        if _non_negative_int(max_per_class, name, 'max_per_class') < 1:
            raise ValueError(f'{name}: max_per_class must be >= 1, got {max_per_class}')
        self.subset = DATASETS.build(dict(subset, split='train'))
        self.transforms = tuple(transforms)
        self.max_per_class = int(max_per_class)
        source_classes = self.subset.metainfo.get('classes') or tuple(str(i) for i in range(self.subset.num_classes))
        classes = tuple(f'{c}_{t}' for c in source_classes for t in self.transforms)
        kwargs.setdefault('ann_file', '')
        kwargs['metainfo'] = {**(kwargs.get('metainfo') or {}), 'classes': classes}
        super().__init__(pipeline=pipeline, test_mode=test_mode, **kwargs)

    def load_data_list(self) -> list[dict]:
        source = self.subset.dataset
        if len(getattr(getattr(source, 'pipeline', None), 'transforms', ())) > 0:
            raise ValueError(f'{type(self).__name__}: the data set inside subset must have no pipeline (raw images '
                             'are transformed here); give the pipeline to the CategoryExtrapolationDataset')
        labels = dataset_labels(source)
        unused = self.subset.unused_indices
        infos, n_t = [], len(self.transforms)
        for c in range(self.subset.num_classes):
            idx = unused[labels[unused] == c][:self.max_per_class]
            if idx.size == 0:
                raise ValueError(f'{type(self).__name__}: class {c} has no image outside train and val; lower n_max')
            stack = np.stack([np.asarray(source.get_data_info(int(i))['img']) for i in idx])
            for t, tname in enumerate(self.transforms):
                out = np.ascontiguousarray(TRANSFORMS[tname](stack))
                infos += [{'img': img, 'gt_label': c * n_t + t, 'source_index': int(i)} for img, i in zip(out, idx)]
        self._loaded_labels = np.array([d['gt_label'] for d in infos], dtype=np.int64)
        return infos
