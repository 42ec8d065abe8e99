"""Many / medium / few-shot accuracy, the protocol shared by the long-tailed papers (docs/methods.md §0.1).

A class is *many* if its training count n_c > many_thr (100), *few* if n_c < few_thr (20) and *medium* otherwise
(few_thr <= n_c <= many_thr, both bounds inclusive). A split's accuracy is the mean of the per-class top-1 accuracies of
its classes (macro); classes absent from the evaluated set are skipped (the official ``shot_acc`` iterates over the test
labels) and an empty split reports 0. The overall number is the micro top-1 over all evaluated samples.
Segmentation has no fixed thresholds; :func:`frequency_groups` splits its classes into head / body / tail by rank or
share of training pixels. numpy only.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SPLIT_NAMES = ('many', 'medium', 'few')


def shot_split(train_counts: np.ndarray, many_thr: int = 100, few_thr: int = 20) -> np.ndarray:
    """Split id of every class: 0 many (n > many_thr), 1 medium (few_thr <= n <= many_thr), 2 few (n < few_thr)."""
    if few_thr > many_thr + 1:
        raise ValueError(f'few_thr={few_thr} must be <= many_thr + 1 ({many_thr + 1}); the medium split would be '
                         'ill-defined')
    counts = np.asarray(train_counts)
    return np.where(counts > many_thr, 0, np.where(counts < few_thr, 2, 1)).astype(np.int64)


def per_class_correct(pred_labels: np.ndarray, targets: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(correct, total) per class from predicted and true labels (two bincounts)."""
    pred_labels = np.asarray(pred_labels).reshape(-1)
    targets = np.asarray(targets).reshape(-1).astype(np.int64)
    if pred_labels.shape != targets.shape:
        raise ValueError(f'{pred_labels.size} predictions for {targets.size} targets')
    if targets.size and (targets.min() < 0 or targets.max() >= num_classes):
        raise ValueError(f'target labels must lie in [0, {num_classes}), got [{targets.min()}, {targets.max()}]')
    total = np.bincount(targets, minlength=num_classes)
    correct = np.bincount(targets, weights=(pred_labels == targets).astype(np.float64), minlength=num_classes)
    return correct.astype(np.int64), total.astype(np.int64)


def per_class_accuracy(correct: np.ndarray, total: np.ndarray) -> np.ndarray:
    """correct / total per class as fractions, NaN for classes with no evaluated sample."""
    correct = np.asarray(correct, dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    out = np.full(total.shape, np.nan)
    np.divide(correct, total, out=out, where=total > 0)
    return out


def shot_accuracies(class_acc: np.ndarray, train_counts: np.ndarray, many_thr: int = 100,
                    few_thr: int = 20) -> dict[str, float]:
    """Mean per-class accuracy of the many / medium / few splits (NaN classes skipped, an empty split is 0)."""
    class_acc = np.asarray(class_acc, dtype=np.float64)
    train_counts = np.asarray(train_counts)
    if class_acc.shape != train_counts.shape:
        raise ValueError(f'{class_acc.size} per-class accuracies but {train_counts.size} class counts')
    split = shot_split(train_counts, many_thr, few_thr)
    present = ~np.isnan(class_acc)
    acc0 = np.where(present, class_acc, 0.0)
    sums = np.bincount(split, weights=acc0, minlength=3)
    nums = np.bincount(split, weights=present.astype(np.float64), minlength=3)
    means = np.divide(sums, nums, out=np.zeros(3), where=nums > 0)
    return {name: float(means[i]) for i, name in enumerate(SPLIT_NAMES)}


def split_sizes(train_counts: np.ndarray, many_thr: int = 100, few_thr: int = 20) -> dict[str, int]:
    """Number of classes in each split."""
    sizes = np.bincount(shot_split(train_counts, many_thr, few_thr), minlength=3)
    return {name: int(sizes[i]) for i, name in enumerate(SPLIT_NAMES)}


def topk_correct(scores: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    """Boolean per sample: is the target among the k highest scores (ties broken towards lower class index)."""
    scores = np.asarray(scores)
    targets = np.asarray(targets).reshape(-1).astype(np.int64)
    if scores.ndim != 2 or scores.shape[0] != targets.size:
        raise ValueError(f'scores must be N x C with N={targets.size}, got shape {scores.shape}')
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f'top-{k} is unavailable with {scores.shape[1]} classes')
    target_score = scores[np.arange(targets.size), targets]
    higher = (scores > target_score[:, None]).sum(axis=1)
    ties_before = ((scores == target_score[:, None]) & (np.arange(scores.shape[1])[None, :] < targets[:, None])).sum(1)
    return (higher + ties_before) < k


def empty_splits(class_acc: np.ndarray, train_counts: np.ndarray, many_thr: int = 100,
                 few_thr: int = 20) -> list[str]:
    """Splits with no evaluated class (no class in the split, or none of its classes in the evaluated set).

    Such a split has no accuracy; ``shot_accuracies`` gives it 0, which must not be reported as a result.
    """
    split = shot_split(train_counts, many_thr, few_thr)
    present = ~np.isnan(np.asarray(class_acc, dtype=np.float64))
    nums = np.bincount(split[present], minlength=3)
    return [name for i, name in enumerate(SPLIT_NAMES) if nums[i] == 0]


FREQUENCY_GROUPS = ('head', 'body', 'tail')
FREQUENCY_SPLITS = ('rank', 'fraction')


def frequency_groups(counts: np.ndarray, split: str = 'rank', ratios: Sequence[float] = (1, 1, 1),
                     thresholds: Sequence[float] | None = None) -> np.ndarray:
    """Group index per class (0 head, 1 body, 2 tail) from per-class training counts (pixels in segmentation).

    ``split='rank'``: classes ranked by count (descending, ties by class index) and cut by ``ratios`` of the class
    count (default thirds). ``split='fraction'``: head if the share n_c / sum(n) >= ``thresholds[0]``, tail if
    < ``thresholds[1]``. Used by the segmentation long-tail mIoU, whose papers give no fixed split.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f'frequency_groups: counts must be a non-empty 1-D array, got shape {counts.shape}')
    c = counts.size
    groups = np.ones(c, dtype=np.int64)
    if split == 'rank':
        r = np.asarray(ratios, dtype=np.float64)
        if r.shape != (3,) or np.any(r < 0) or r.sum() <= 0:
            raise ValueError(f'frequency_groups: ratios must be 3 numbers >= 0 (head, body, tail), got {ratios}')
        r = r / r.sum()
        n_head = int(round(c * r[0]))
        n_tail = min(int(round(c * r[2])), c - n_head)
        order = np.argsort(-counts, kind='stable')
        groups[order[:n_head]] = 0
        if n_tail:
            groups[order[c - n_tail:]] = 2
    elif split == 'fraction':
        if thresholds is None or len(thresholds) != 2 or not thresholds[0] >= thresholds[1]:
            raise ValueError(f"frequency_groups: split='fraction' needs thresholds=(head_min, tail_max) with "
                             f'head_min >= tail_max, got {thresholds}')
        share = counts / counts.sum()
        groups[share >= thresholds[0]] = 0
        groups[share < thresholds[1]] = 2
    else:
        raise ValueError(f'frequency_groups: split must be one of {FREQUENCY_SPLITS}, got {split!r}')
    return groups
