"""Open-set auxiliary classes for the long-tailed digits: geometrically transformed held-out digit images.

The category-extrapolation demo (``configs/lfn``) needs neighbour classes that are visually close to the targets but
are not target classes: "digit d rotated by 90 degrees", "digit d mirrored", ... built from scikit-learn's shipped 8x8
digits (nothing downloads). Only images that ``DigitsLT`` with the same split arguments leaves out of its train, val
and test splits are used, so no evaluation image (nor a transform of one) reaches training.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ltplug.core.sampling import exponential_profile

from .base import LTDatasetMixin, check_imb_factor
from .digits_lt import DigitsLT, digits_split_masks

# each maps an (n, 8, 8) stack to its transformed stack
TRANSFORMS = {
    'rot90': lambda x: np.rot90(x, 1, axes=(1, 2)),
    'rot180': lambda x: np.rot90(x, 2, axes=(1, 2)),
    'rot270': lambda x: np.rot90(x, 3, axes=(1, 2)),
    'hflip': lambda x: x[:, :, ::-1],
    'vflip': lambda x: x[:, ::-1, :],
    'transpose': lambda x: np.swapaxes(x, 1, 2),
}
SOURCES = ('heldout', 'pool')


@DATASETS.register_module()
class DigitsAux(LTDatasetMixin, BaseDataset):
    """Auxiliary classes ``'<digit>_<transform>'`` (label ``digit_index * T + transform_index``), from held-out digits.

    Args:
        transforms: the transforms, one auxiliary class per (digit, transform); from ``rot90``, ``rot180``,
            ``rot270``, ``hflip``, ``vflip``, ``transpose``. Default ``('rot90', 'hflip', 'vflip')``: 30 classes.
        digits: the source digits (default all ten).
        source: ``'heldout'`` (default): only images in none of DigitsLT's train / val / test splits;
            ``'pool'``: also DigitsLT's train images (still never val / test images).
        imb_factor, n_max, seed, split_seed, num_val, num_test: DigitsLT's split arguments; they must equal those of the
            target
            data set so that the held-out images are really held out.
        pipeline, test_mode, ...: as in mmpretrain's ``BaseDataset``.
    """

    def __init__(self, transforms: Sequence[str] = ('rot90', 'hflip', 'vflip'), digits: Sequence[int] | None = None,
                 source: str = 'heldout', imb_factor: float = 20, n_max: int = 120, seed: int = 0, split_seed: int = 0,
                 num_val: int = 10, num_test: int = 40, pipeline: Sequence = (), test_mode: bool = False,
                 **kwargs) -> None:
        if isinstance(transforms, str) or not transforms:
            raise ValueError('DigitsAux: transforms must be a non-empty list of transform names')
        unknown = [t for t in transforms if t not in TRANSFORMS]
        if unknown or len(set(transforms)) != len(transforms):
            raise ValueError(f'DigitsAux: transforms must be distinct names from {sorted(TRANSFORMS)}, got '
                             f'{list(transforms)}')
        digits = tuple(range(DigitsLT.NUM_CLASSES)) if digits is None else tuple(int(d) for d in digits)
        if not digits or len(set(digits)) != len(digits) or min(digits) < 0 or max(digits) >= DigitsLT.NUM_CLASSES:
            raise ValueError(f'DigitsAux: digits must be distinct values in 0..9, got {digits}')
        if source not in SOURCES:
            raise ValueError(f'DigitsAux: source must be one of {SOURCES}, got {source!r}')
        self.transforms = tuple(transforms)
        self.digits = digits
        self.source = source
        self.seed = int(seed)
        self.split_seed = int(split_seed)
        self.num_val = int(num_val)
        self.num_test = int(num_test)
        self.train_counts = exponential_profile(int(n_max), check_imb_factor(imb_factor, 'DigitsAux'),
                                                DigitsLT.NUM_CLASSES)
        classes = tuple(f'{d}_{t}' for d in digits for t in self.transforms)
        kwargs.setdefault('ann_file', '')
        kwargs['metainfo'] = {**(kwargs.get('metainfo') or {}), 'classes': classes}
        super().__init__(pipeline=pipeline, test_mode=test_mode, **kwargs)

    def load_data_list(self) -> list[dict]:
        images, labels = DigitsLT._load_raw()
        train, val, test, ranks = digits_split_masks(labels, self.train_counts, self.seed, self.split_seed,
                                                     self.num_val, self.num_test)
        keep = ~(val | test | train) if self.source == 'heldout' else ~(val | test)
        pixels, aux_labels = [], []
        n_t = len(self.transforms)
        for di, d in enumerate(self.digits):  # 10 digits x a few transforms: building the set once
            idx = np.flatnonzero(keep & (labels == d))
            idx = idx[np.argsort(ranks[idx], kind='stable')]
            if idx.size == 0:
                raise ValueError(f'DigitsAux: digit {d} has no held-out image with these split arguments; use '
                                 "source='pool' or a smaller n_max")
            src = images[idx]
            for ti, name in enumerate(self.transforms):
                pixels.append(np.ascontiguousarray(TRANSFORMS[name](src)))
                aux_labels.append(np.full(idx.size, di * n_t + ti, dtype=np.int64))
        stack = np.concatenate(pixels)
        stack = np.rint(stack * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
        stack = np.repeat(stack[..., None], 3, axis=-1)
        lab = np.concatenate(aux_labels)
        self._loaded_labels = lab.copy()
        return [{'img': img, 'gt_label': int(y)} for img, y in zip(stack, lab)]

    def extra_repr(self) -> list[str]:
        return [f'transforms: \t{self.transforms}', f'digits: \t{self.digits}', f'source: \t{self.source}']
