"""``SegPixelCountsHook``: ``ClassCountsHook`` whose counts are the training set's per-class pixel counts (mmseg)."""
from __future__ import annotations

import os.path as osp

import numpy as np
from mmengine.registry import HOOKS

from .class_counts import ClassCountsHook


def _default_cache_dir() -> str:
    from ltplug.seg.pixel_counts import DEFAULT_CACHE_DIR
    return DEFAULT_CACHE_DIR


@HOOKS.register_module()
class SegPixelCountsHook(ClassCountsHook):
    """Hand the training set's per-class **pixel** counts to the vMF decode head and the long-tail IoU metric.

    The counting (mmseg's own annotation decoding, ignore index dropped) and its cache are
    :func:`ltplug.seg.pixel_counts.dataset_pixel_counts`.

    Args:
        class_counts: a list or class-count file to use instead of counting (e.g. a previous run's pixel_counts.txt).
        cache_dir: where counts are cached by data fingerprint; ``'default'`` is
            ``${LTPLUG_CACHE:-~/.cache/ltplug}/seg_pixel_counts``, None turns the cache off.
        num_workers: threads decoding maps.
        save_to_work_dir: also write the counts used to ``<work_dir>/pixel_counts.txt``.
    """

    def __init__(self, class_counts=None, cache_dir: str | None = 'default', num_workers: int = 4,
                 save_to_work_dir: bool = True) -> None:
        super().__init__(class_counts=class_counts)
        self.cache_dir = _default_cache_dir() if cache_dir == 'default' else cache_dir
        self.num_workers = int(num_workers)
        self.save_to_work_dir = bool(save_to_work_dir)

    def count(self, dataset, runner) -> np.ndarray:
        from ltplug.seg.pixel_counts import dataset_pixel_counts
        counts, _ = dataset_pixel_counts(dataset, self.cache_dir, self.num_workers, logger=runner.logger)
        return counts

    def resolve(self, runner) -> np.ndarray | None:
        counts = super().resolve(runner)
        if counts is not None and self.save_to_work_dir and runner.rank == 0:
            from ltplug.seg.pixel_counts import write_counts_file
            write_counts_file(osp.join(runner.work_dir, 'pixel_counts.txt'), counts,
                              ['per-class training pixel counts used by this run (SegPixelCountsHook)'])
        return counts
