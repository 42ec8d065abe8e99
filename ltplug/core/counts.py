"""Per-class training counts n_c: read (a list, a class-count file), validated, or counted from a dataset's labels.

Heads (log priors), losses, samplers and long-tail metrics all need n_c; this module is the one place that turns any
source of counts into a checked int64 array. Class-count files (written by ``tools/dataset_converters`` and the seg
pixel-count cache) hold one integer per line (line i = class i, ``#`` comments allowed). numpy only: a dataset is used
through the duck-typed ``get_class_counts`` / ``get_gt_labels`` / ``get_cat_ids`` methods, no OpenMMLab import.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np


class ClassCountsError(ValueError):
    """Raised for missing, malformed or inconsistent class counts."""


def load_class_counts(spec: str | os.PathLike | Sequence[int] | np.ndarray) -> np.ndarray:
    """Return counts as an int64 array from a list/array or a file (.txt one int per line, .npy, .json list)."""
    if isinstance(spec, (str, os.PathLike)):
        path = os.fspath(spec)
        if not os.path.isfile(path):
            raise ClassCountsError(f'class-count file not found: {path}')
        if path.endswith('.npy'):
            arr = np.load(path, allow_pickle=False)
        elif path.endswith('.json'):
            with open(path) as f:
                arr = np.asarray(json.load(f))
        else:
            values = []
            with open(path) as f:
                for lineno, line in enumerate(f, 1):
                    line = line.split('#', 1)[0].strip()
                    if not line:
                        continue
                    try:
                        values.append(int(line.split()[-1]))
                    except ValueError as e:
                        raise ClassCountsError(f'{path}:{lineno}: expected an integer count, got {line!r}') from e
            arr = np.asarray(values)
        where = path
    else:
        arr = np.asarray(spec)
        where = 'the given class_counts'
    if arr.ndim != 1 or arr.size == 0:
        raise ClassCountsError(f'{where}: class counts must be a non-empty 1-D list, got shape {arr.shape}')
    if not np.issubdtype(arr.dtype, np.number) or np.any(arr != np.round(arr)):
        raise ClassCountsError(f'{where}: class counts must be integers')
    arr = arr.astype(np.int64)
    if np.any(arr < 0):
        raise ClassCountsError(f'{where}: class counts must be >= 0')
    return arr


def check_class_counts(counts: np.ndarray, num_classes: int | None = None, *, where: str = 'class counts',
                       allow_empty: bool = False) -> np.ndarray:
    """Validate counts against ``num_classes`` and reject empty classes (a log prior of -inf) unless allowed."""
    counts = load_class_counts(counts)
    if num_classes is not None and counts.size != num_classes:
        raise ClassCountsError(f'{where}: got counts for {counts.size} classes but num_classes={num_classes}')
    if not allow_empty and np.any(counts == 0):
        empty = np.flatnonzero(counts == 0)
        raise ClassCountsError(
            f'{where}: {empty.size} class(es) have zero training samples (first: {empty[:10].tolist()}); '
            'a log prior / class-balanced sampler is undefined for them. Remove the classes or fix the data.')
    return counts


def dataset_class_counts(dataset, num_classes: int | None = None) -> np.ndarray:
    """Per-class counts of a dataset: ``dataset.get_class_counts()`` if it has one, else from its labels."""
    if hasattr(dataset, 'get_class_counts'):
        return load_class_counts(dataset.get_class_counts())
    labels = dataset_labels(dataset)
    if num_classes is None:
        classes = getattr(dataset, 'metainfo', {}).get('classes') if hasattr(dataset, 'metainfo') else None
        num_classes = len(classes) if classes else int(labels.max()) + 1
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ClassCountsError(f'{type(dataset).__name__}: labels outside [0, {num_classes})')
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def dataset_labels(dataset) -> np.ndarray:
    """The integer label of every sample, without loading images (mmpretrain ``get_gt_labels`` or wrappers)."""
    if hasattr(dataset, 'get_gt_labels'):
        return np.asarray(dataset.get_gt_labels(), dtype=np.int64).reshape(-1)
    if hasattr(dataset, 'get_cat_ids'):
        return np.asarray([int(np.asarray(dataset.get_cat_ids(i)).reshape(-1)[0]) for i in range(len(dataset))],
                          dtype=np.int64)
    raise ClassCountsError(f'{type(dataset).__name__} exposes neither get_class_counts(), get_gt_labels() '
                           'nor get_cat_ids(); cannot derive per-class counts')


def positive_counts(class_counts, where: str, zero_means: str = 'their weight is infinite') -> np.ndarray:
    """The counts as float64 (C,), with a ``ValueError`` naming ``where`` for a bad shape, negative or zero counts
    (``zero_means`` says why a zero count cannot be used: a log prior of -inf, an infinite class weight, ...)."""
    if hasattr(class_counts, 'detach'):  # a torch tensor (this module needs no torch import)
        class_counts = class_counts.detach().cpu().double().numpy()
    counts = np.asarray(class_counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f'{where}: class counts must be a non-empty 1-D list (one count per class), got shape '
                         f'{counts.shape}')
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError(f'{where}: class counts must be finite and >= 0')
    if np.any(counts == 0):
        empty = np.flatnonzero(counts == 0)
        raise ValueError(f'{where}: {empty.size} class(es) have no training sample (first: {empty[:10].tolist()}); '
                         f'{zero_means}')
    return counts
