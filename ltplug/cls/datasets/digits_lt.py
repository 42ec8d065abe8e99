"""Long-tailed 8x8 digits: a real, bundled data set (scikit-learn ships it, nothing downloads) for demos and tests."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ltplug.core.sampling import exponential_profile

from .base import LTDatasetMixin, check_imb_factor, split_ranks

SPLITS = ('train', 'val', 'test')
__all__ = ['DigitsLT', 'LTDatasetMixin', 'digits_split_masks']


def digits_split_masks(labels: np.ndarray, train_counts: np.ndarray, seed: int, split_seed: int, num_val: int,
                       num_test: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Masks of the train, val and test samples (``SPLITS`` order) and each sample's rank in its split's class.

    val / test are carved by ``split_seed`` alone, so no train ``seed`` can reach them. The pool (the rest) is ordered
    by the ``seed`` shuffle and train keeps its first n_i; with ``seed == split_seed`` that is the split of the
    earlier single-seed DigitsLT (the pool in carve-out order).
    """
    held = num_val + num_test
    carve = split_ranks(labels, split_seed)
    val, test = carve < num_val, (carve >= num_val) & (carve < held)
    pool = carve >= held
    order = split_ranks(labels, seed)
    # rank inside the pool of each class under the seed's shuffle (the held-out samples are skipped)
    pool_rank = np.full(labels.size, -1, dtype=np.int64)
    idx = np.flatnonzero(pool)
    idx = idx[np.lexsort((order[idx], labels[idx]))]
    sorted_labels = labels[idx]
    pool_rank[idx] = np.arange(idx.size) - np.searchsorted(sorted_labels, sorted_labels, side='left')
    train = pool & (pool_rank < train_counts[labels])
    return train, val, test, np.where(pool, pool_rank, carve - np.where(test, num_val, 0))


@DATASETS.register_module()
class DigitsLT(LTDatasetMixin, BaseDataset):
    """Long-tailed version of scikit-learn's 8x8 digits (1,797 real images, 10 classes; shipped, nothing downloads).

    Per class, a shuffle seeded by ``split_seed`` puts the first ``num_val`` images in ``val``, the next ``num_test``
    in ``test`` (both balanced) and the rest in the train pool; ``train`` keeps n_i = int(n_max * (1/imb_factor)^(i/9))
    images of the pool of class i (class 0 the head), the first ones after a shuffle seeded by ``seed``. val / test
    depend on ``split_seed`` only, so changing ``seed`` never moves an evaluation image into training. Defaults: n_max
    120, imb_factor 20 -> 120, 86, 61, 44, 31, 22, 16, 11, 8, 6 images (405 in total); val 100 and test 400 images.

    Samples carry ``img`` (8x8x3 uint8, the 0..16 intensities rescaled to 0..255 and replicated to 3 channels),
    ``gt_label`` and ``raw_index`` (the position in ``sklearn.datasets.load_digits()``), so mmpretrain pipelines
    without ``LoadImageFromFile`` apply directly.

    Args:
        split: 'train', 'val' or 'test'.
        imb_factor: n_max / n_min of the training split (>= 1; 1 gives a balanced train split).
        n_max: images of the head class; must not exceed the smallest class's train pool (124 with the defaults).
        seed: seed of the train subsample of the pool (the same seeds always give the same split).
        split_seed: seed of the val / test carve-out; keep it fixed to compare runs on the same evaluation images.
        num_val, num_test: balanced per-class sizes of the val / test splits.
        pipeline, test_mode, indices, metainfo, ...: as in mmpretrain's ``BaseDataset``.
    """

    METAINFO = {'classes': tuple(str(i) for i in range(10))}
    NUM_CLASSES = 10

    def __init__(self, split: str = 'train', imb_factor: float = 20, n_max: int = 120, seed: int = 0,
                 split_seed: int = 0, num_val: int = 10, num_test: int = 40, pipeline: Sequence = (),
                 test_mode: bool = False, **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'DigitsLT: split must be one of {SPLITS}, got {split!r}')
        if num_val < 0 or num_test < 0:
            raise ValueError(f'DigitsLT: num_val / num_test must be >= 0, got {num_val} / {num_test}')
        self.split = split
        self.imb_factor = check_imb_factor(imb_factor, 'DigitsLT')
        self.n_max = int(n_max)
        self.seed = int(seed)
        self.split_seed = int(split_seed)
        self.num_val = int(num_val)
        self.num_test = int(num_test)
        # validate the profile before any loading, so a bad config fails at build time with the key named
        self.train_counts = exponential_profile(self.n_max, self.imb_factor, self.NUM_CLASSES)
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
        masks = digits_split_masks(labels, self.train_counts, self.seed, self.split_seed, self.num_val, self.num_test)
        keep, ranks = masks[SPLITS.index(self.split)], masks[3]
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
                f'seed: \t{self.seed}', f'split_seed: \t{self.split_seed}']
