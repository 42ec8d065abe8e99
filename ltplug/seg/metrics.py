"""mIoU with head / body / tail mIoU by training pixel frequency (mmseg's ``IoUMetric`` computation, reused as is).

Split (:func:`ltplug.core.shot_metrics.frequency_groups`, our choice; the vMF-OP ADE20K tables could not be retrieved,
docs/methods.md §1.9): classes are ranked by their training pixel count n_c (descending, ties by class index) and cut
into head / body / tail by ``ratios`` of the class count (default thirds: 50 / 50 / 50 on ADE20K-150).
``split='fraction'`` instead uses thresholds on the pixel share n_c / sum(n): head if >= ``thresholds[0]``, tail if
< ``thresholds[1]``. A group's mIoU is the mean of the per-class IoUs of its classes that occur in the evaluated set
(union > 0), exactly as mmseg averages mIoU (NaN classes skipped).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from mmengine.logging import MMLogger, print_log
from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS
from prettytable import PrettyTable

from ltplug.core.counts import ClassCountsError, check_class_counts, load_class_counts
from ltplug.core.shot_metrics import FREQUENCY_GROUPS, frequency_groups


@METRICS.register_module()
class LongTailIoUMetric(IoUMetric):
    """``IoUMetric`` (aAcc / mIoU / mAcc and the per-class table) plus ``mIoU_head`` / ``mIoU_body`` / ``mIoU_tail``.

    Args:
        class_counts: training pixel counts per class (list or class-count file); default: ``SegPixelCountsHook``.
        split / ratios / thresholds: how classes are grouped (module docstring).
        **kwargs: ``IoUMetric`` arguments (ignore_index, iou_metrics, nan_to_num, ...).
    """

    requires_class_counts = True

    def __init__(self, class_counts=None, split: str = 'rank', ratios: Sequence[float] = (1, 1, 1),
                 thresholds: Sequence[float] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if 'mIoU' not in (self.metrics if isinstance(self.metrics, (list, tuple)) else [self.metrics]):
            raise ValueError(f"LongTailIoUMetric: iou_metrics must include 'mIoU', got {self.metrics}")
        frequency_groups(np.ones(3), split, ratios, thresholds)  # validate the split arguments now
        self.split = split
        self.ratios = tuple(ratios)
        self.thresholds = None if thresholds is None else tuple(thresholds)
        self.class_counts = None if class_counts is None else load_class_counts(class_counts)

    @property
    def num_classes(self) -> int | None:
        meta = self.dataset_meta
        return len(meta['classes']) if meta and meta.get('classes') else None

    def set_class_counts(self, counts) -> None:
        """Training pixel counts per class (called by the counts hook before the run)."""
        self.class_counts = check_class_counts(counts, self.num_classes, where='LongTailIoUMetric class counts',
                                               allow_empty=True)

    def compute_metrics(self, results: list) -> dict[str, float]:
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        num_classes = len(self.dataset_meta['classes'])
        if self.class_counts is None:
            raise ClassCountsError('LongTailIoUMetric needs the per-class training pixel counts: add '
                                   "dict(type='SegPixelCountsHook') to custom_hooks or pass class_counts= (a list or "
                                   'class-count file) to the evaluator')
        counts = check_class_counts(self.class_counts, num_classes, where='LongTailIoUMetric class counts',
                                    allow_empty=True)
        areas = tuple(zip(*results))
        intersect = sum(areas[0]).numpy().astype(np.float64)
        union = sum(areas[1]).numpy().astype(np.float64)
        with np.errstate(divide='ignore', invalid='ignore'):
            iou = intersect / union
        groups = frequency_groups(counts, self.split, self.ratios, self.thresholds)
        table = PrettyTable(['group', 'classes', 'train pixel share %', 'evaluated', 'mIoU'])
        for g, name in enumerate(FREQUENCY_GROUPS):
            member = groups == g
            vals = iou[member]
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', RuntimeWarning)
                value = float(np.round(np.nanmean(vals) * 100, 2)) if vals.size else float('nan')
            metrics[f'mIoU_{name}'] = value
            table.add_row([name, int(member.sum()), round(100.0 * counts[member].sum() / max(counts.sum(), 1), 2),
                           int(np.isfinite(vals).sum()), value])
        logger: MMLogger = MMLogger.get_current_instance()
        print_log(f'long-tail mIoU ({self.split} split of classes by training pixel count):\n{table.get_string()}',
                  logger=logger)
        return metrics
