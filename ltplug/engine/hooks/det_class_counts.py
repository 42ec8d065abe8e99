"""``DetClassCountsHook``: ``ClassCountsHook`` whose counts are the training set's per-class instance counts (mmdet)."""
from __future__ import annotations

import numpy as np
import torch.nn as nn
from mmengine.registry import HOOKS
from mmengine.runner import BaseLoop

from ltplug.core.counts import ClassCountsError, check_class_counts

from .class_counts import ClassCountsHook, iter_class_count_consumers

SOURCES = ('annotations', 'instance_count', 'image_count')


def check_source(source: str, repeat_aware: bool) -> None:
    """Reject an unknown ``source``, and ``repeat_aware`` with a source that cannot repeat (the LVIS fields)."""
    if source not in SOURCES:
        raise ClassCountsError(f'DetClassCountsHook: source must be one of {SOURCES}, got {source!r}')
    if repeat_aware and source != 'annotations':
        raise ClassCountsError(f"DetClassCountsHook: repeat_aware=True needs source='annotations', not {source!r}")


@HOOKS.register_module()
class DetClassCountsHook(ClassCountsHook):
    """Per-class instance counts of a detection training set for the vMF bbox head's log prior.

    The counting (dataset wrappers unwrapped, ``ClassBalancedDataset`` repeats optional) is
    :func:`ltplug.det.class_counts.det_class_counts`.

    Args:
        class_counts: a list or class-count file to use instead.
        source: 'annotations' (default: the instances mmdet trains on), 'instance_count' or 'image_count' (LVIS
            category fields, read from the annotation file the training set already parsed).
        repeat_aware: count images as often as ``ClassBalancedDataset`` repeats them.
        min_count: if set, classes with fewer instances are raised to it (the log prior is undefined for an empty
            class; by default such a class is an error naming it).
    """

    def __init__(self, class_counts=None, source: str = 'annotations', repeat_aware: bool = False,
                 min_count: int | None = None) -> None:
        super().__init__(class_counts=class_counts)
        check_source(source, repeat_aware)
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

    def count(self, dataset, runner) -> np.ndarray:
        from ltplug.det.class_counts import det_class_counts
        return det_class_counts(dataset, self.source, self.repeat_aware)

    def resolve(self, runner) -> np.ndarray | None:
        counts = super().resolve(runner)
        if counts is None:
            return None
        if self.min_count is not None:
            low = np.flatnonzero(counts < self.min_count)
            if low.size:
                runner.logger.warning(f'DetClassCountsHook: {low.size} classes have fewer than {self.min_count} '
                                      f'training instances (first: {low[:10].tolist()}); raised to {self.min_count}')
            counts = np.maximum(counts, self.min_count)
        return check_class_counts(counts, where='DetClassCountsHook counts', allow_empty=True)
