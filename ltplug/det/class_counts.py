"""Per-class instance counts of a detection training set (the n_c of the vMF bbox classifier's log prior).

A plain label count cannot count a detection set: ``ClassBalancedDataset`` (LVIS repeat-factor sampling) reports
only the first label of each image. :func:`det_class_counts` (used by ``DetClassCountsHook`` in
``ltplug/engine/hooks/det_class_counts.py``) unwraps the dataset wrappers and counts

* ``source='annotations'`` (default): the instances mmdet actually trains on (the parsed ``data_list`` after
  ``filter_cfg``; ``ignore_flag`` instances excluded), per contiguous label;
* ``source='instance_count'`` / ``'image_count'``: the per-category fields of an LVIS annotation file (label i = the
  i-th category in the file, which is how ``LVISV1Dataset`` maps ids to labels).

Repeat-factor sampling is **not** folded into the counts by default (the prior is the data set's class frequency, as
docs/methods.md §1.8 suggests); ``repeat_aware=True`` counts every image as often as ``ClassBalancedDataset``
repeats it,
i.e. the class frequency the classifier sees per epoch.
"""
from __future__ import annotations

import numpy as np

from ltplug.core.counts import ClassCountsError
from ltplug.engine.hooks.det_class_counts import check_source


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
    """``field`` ('instance_count' / 'image_count') of every category of the dataset's LVIS file, in label order.

    A ``CheckedLVISV1Dataset`` kept the categories when it read the file; any other dataset's file is read here.
    """
    from .lvis_format import load_lvis_json

    ann_file = getattr(dataset, 'ann_file', None)
    cats = getattr(dataset, 'lvis_categories', None)
    if cats is None:
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
    check_source(source, repeat_aware)
    total = None
    for leaf, repeats in _leaves(dataset):
        num_classes = _num_classes(leaf)
        if source == 'annotations':
            counts = annotation_instance_counts(leaf, num_classes, repeats if repeat_aware else None)
        else:
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
