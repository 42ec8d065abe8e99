"""Per-class instance counts of a detection training set (the n_c of the vMF bbox classifier's log prior).

``ClassCountsHook`` cannot count a detection set by itself: ``ClassBalancedDataset`` (LVIS repeat-factor sampling)
reports only the first label of each image. :class:`DetClassCountsHook` unwraps the dataset wrappers and counts

* ``source='annotations'`` (default): the instances mmdet actually trains on (the parsed ``data_list`` after
  ``filter_cfg``; ``ignore_flag`` instances excluded), per contiguous label;
* ``source='instance_count'`` / ``'image_count'``: the per-category fields of an LVIS annotation file (label i = the
  i-th category in the file, which is how ``LVISV1Dataset`` maps ids to labels).

Repeat-factor sampling is **not** folded into the counts by default (the prior is the data set's class frequency, as
METHODS.md §1.8 suggests); ``repeat_aware=True`` counts every image as often as ``ClassBalancedDataset`` repeats it,
i.e. the class frequency the classifier sees per epoch.
"""
from __future__ import annotations

import numpy as np
import torch.nn as nn
from mmdet.registry import HOOKS
from mmengine.runner import BaseLoop

from ltplug.engine.class_counts import ClassCountsError, check_class_counts
from ltplug.engine.hooks import ClassCountsHook, iter_class_count_consumers

SOURCES = ('annotations', 'instance_count', 'image_count')


def _leaves(dataset, weight: np.ndarray | None = None) -> list[tuple[object, np.ndarray | None]]:
    """(leaf dataset, per-image repeat count or None) under Concat / Repeat / ClassBalanced wrappers."""
    if hasattr(dataset, 'datasets'):
        return [leaf for d in dataset.datasets for leaf in _leaves(d)]
    if hasattr(dataset, 'dataset'):
        inner = dataset.dataset
        if hasattr(dataset, 'repeat_indices'):  # ClassBalancedDataset: image i appears repeat_indices.count(i) times
            reps = np.bincount(np.asarray(dataset.repeat_indices, dtype=np.int64), minlength=len(inner))
            return _leaves(inner, reps)
        return _leaves(inner)
    return [(dataset, weight)]


def _num_classes(dataset) -> int:
    classes = dataset.metainfo.get('classes') if hasattr(dataset, 'metainfo') else None
    if not classes:
        raise ClassCountsError(f'{type(dataset).__name__}: metainfo has no classes')
    return len(classes)


def annotation_instance_counts(dataset, num_classes: int, repeats: np.ndarray | None = None) -> np.ndarray:
    """Instances per label in a built mmdet dataset's data_list (ignored instances excluded)."""
    labels, owners = [], []
    for i in range(len(dataset)):
        for inst in dataset.get_data_info(i).get('instances', []):
            if not inst.get('ignore_flag', 0):
                labels.append(inst['bbox_label'])
                owners.append(i)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ClassCountsError(f'{type(dataset).__name__}: instance labels outside [0, {num_classes}) '
                               f'(range {labels.min()}..{labels.max()}): does num_classes match the annotation file?')
    weights = None if repeats is None else repeats[np.asarray(owners, dtype=np.int64)]
    return np.bincount(labels, weights=weights, minlength=num_classes).round().astype(np.int64)


def lvis_json_counts(dataset, field: str) -> np.ndarray:
    """``field`` ('instance_count' / 'image_count') of every category of the dataset's LVIS file, in label order."""
    from .lvis_format import load_lvis_json

    ann_file = getattr(dataset, 'ann_file', None)
    if not ann_file:
        raise ClassCountsError(f"{type(dataset).__name__} has no ann_file; source='{field}' needs an LVIS json")
    cats = load_lvis_json(ann_file)['categories']
    missing = [c['id'] for c in cats if field not in c]
    if missing:
        raise ClassCountsError(f'{ann_file}: categories {missing[:10]} have no "{field}" field '
                               f"(use DetClassCountsHook(source='annotations'))")
    return np.asarray([c[field] for c in cats], dtype=np.int64)


def det_class_counts(dataset, source: str = 'annotations', repeat_aware: bool = False) -> np.ndarray:
    """Per-class counts of a (possibly wrapped) detection training set; several leaves are summed."""
    if source not in SOURCES:
        raise ClassCountsError(f'DetClassCountsHook: source must be one of {SOURCES}, got {source!r}')
    total = None
    for leaf, repeats in _leaves(dataset):
        num_classes = _num_classes(leaf)
        if source == 'annotations':
            counts = annotation_instance_counts(leaf, num_classes, repeats if repeat_aware else None)
        else:
            if repeat_aware:
                raise ClassCountsError(f"DetClassCountsHook: repeat_aware=True needs source='annotations', "
                                       f'not {source!r}')
            counts = lvis_json_counts(leaf, source)
            if counts.size != num_classes:
                raise ClassCountsError(f'{leaf.ann_file}: {counts.size} categories but the dataset has {num_classes} '
                                       'classes (metainfo classes)')
        if total is not None and total.size != counts.size:
            raise ClassCountsError('the concatenated training sets disagree on the number of classes')
        total = counts if total is None else total + counts
    if total is None:
        raise ClassCountsError('no detection data set found to count instances in')
    return total


@HOOKS.register_module()
class DetClassCountsHook(ClassCountsHook):
    """``ClassCountsHook`` for detection: per-class instance counts of the training set (see the module docstring).

    Args:
        class_counts: a list or class-count file to use instead.
        source: 'annotations' (default), 'instance_count' or 'image_count' (LVIS category fields).
        repeat_aware: count images as often as ``ClassBalancedDataset`` repeats them.
        min_count: if set, classes with fewer instances are raised to it (the log prior is undefined for an empty
            class; by default such a class is an error naming it).
    """

    def __init__(self, class_counts=None, source: str = 'annotations', repeat_aware: bool = False,
                 min_count: int | None = None) -> None:
        super().__init__(class_counts=class_counts)
        if source not in SOURCES:
            raise ClassCountsError(f'DetClassCountsHook: source must be one of {SOURCES}, got {source!r}')
        if min_count is not None and int(min_count) < 1:
            raise ClassCountsError(f'DetClassCountsHook: min_count must be >= 1, got {min_count}')
        self.source = source
        self.repeat_aware = bool(repeat_aware)
        self.min_count = None if min_count is None else int(min_count)

    def before_run(self, runner) -> None:
        """As ``ClassCountsHook``, except in a test-only run where no metric needs counts: the bbox head's counts (used
        by the training prior only) come from the checkpoint, so the (large) training annotation file is not read."""
        training = isinstance(getattr(runner, '_train_loop', None), BaseLoop)
        if not training and self.class_counts is None and all(
                isinstance(c, nn.Module) for c in iter_class_count_consumers(runner)):
            runner.logger.info('DetClassCountsHook: test run, class counts taken from the checkpoint')
            return
        super().before_run(runner)

    def resolve(self, runner) -> np.ndarray | None:
        if self.class_counts is not None:
            counts = self.class_counts
        else:
            dataset = self._train_dataset(runner)
            if dataset is None:
                return None
            counts = det_class_counts(dataset, self.source, self.repeat_aware)
        if self.min_count is not None:
            low = np.flatnonzero(counts < self.min_count)
            if low.size:
                runner.logger.warning(f'DetClassCountsHook: {low.size} classes have fewer than {self.min_count} '
                                      f'training instances (first: {low[:10].tolist()}); raised to {self.min_count}')
            counts = np.maximum(counts, self.min_count)
        return check_class_counts(counts, where='DetClassCountsHook counts', allow_empty=True)
