"""Per-class training pixel counts of an mmseg data set (the n_c of the vMF log prior and of head/body/tail splits).

The counts are taken from the annotation maps exactly as training sees them: each map is decoded with mmseg's own
``LoadAnnotations`` (so ``reduce_zero_label`` and custom-class ``label_map`` apply), the ignore index is dropped, and
the rest is histogrammed. Decoding 20k ADE20K maps takes a minute or two, so results are cached in a class-count file
(one integer per line, ``#`` comment header) keyed by a fingerprint of the annotation files (paths, sizes, mtimes) and
the label mapping. That file is also a valid ``class_counts=`` argument for the head, the metric or the hook.

* :func:`dataset_pixel_counts`: counts for a built dataset (``ConcatDataset`` / ``RepeatDataset`` wrappers are
  unwrapped; repeats are not counted: a uniform repeat only shifts log n_c by a constant).
* ``SegPixelCountsHook`` (``ltplug/engine/hooks/seg_pixel_counts.py``) calls it before the run, hands the counts to the
  vMF decode head and the long-tail IoU metric, and writes them to ``<work_dir>/pixel_counts.txt``.
* ``python -m ltplug.seg pixel-counts CONFIG [--out FILE]``: compute them from a config's training set.
"""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from mmengine.logging import print_log
from mmseg.datasets.transforms import LoadAnnotations

from ltplug.core.counts import ClassCountsError, load_class_counts

DEFAULT_CACHE_DIR = osp.join(os.environ.get('LTPLUG_CACHE', osp.join(osp.expanduser('~'), '.cache', 'ltplug')),
                             'seg_pixel_counts')


class AnnotationError(ValueError):
    """A segmentation annotation map is missing, unreadable or holds labels outside the class range."""


def base_seg_datasets(dataset) -> list:
    """The leaf data sets under mmengine's dataset wrappers (Concat / Repeat / ClassBalanced)."""
    if hasattr(dataset, 'datasets'):
        return [leaf for d in dataset.datasets for leaf in base_seg_datasets(d)]
    if hasattr(dataset, 'dataset'):  # RepeatDataset / ClassBalancedDataset
        return base_seg_datasets(dataset.dataset)
    return [dataset]


def label_histogram(seg_map_path: str, num_classes: int, ignore_index: int = 255, reduce_zero_label: bool = False,
                    label_map: dict | None = None) -> np.ndarray:
    """Pixel histogram (num_classes,) of one annotation map after mmseg's label processing; clear errors on bad maps."""
    if not osp.isfile(seg_map_path):
        raise AnnotationError(f'{seg_map_path}: annotation map not found (the image has no matching '
                              'seg_map_suffix file under data_prefix.seg_map_path)')
    results = dict(seg_map_path=seg_map_path, reduce_zero_label=bool(reduce_zero_label), label_map=label_map,
                   seg_fields=[])
    try:
        seg = LoadAnnotations()(results)['gt_seg_map']
    except Exception as e:  # decoding errors of PIL / mmcv
        raise AnnotationError(f'{seg_map_path}: cannot decode the annotation map ({type(e).__name__}: {e})') from e
    if seg.ndim != 2:
        raise AnnotationError(f'{seg_map_path}: expected a single-channel label map (H, W), got shape {seg.shape} '
                              '(a colour-palette RGB rendering instead of class indices?)')
    labels = seg[seg != ignore_index].astype(np.int64)
    if labels.size and labels.max() >= num_classes:
        bad = np.unique(labels[labels >= num_classes])
        raise AnnotationError(
            f'{seg_map_path}: label values {bad[:10].tolist()} are outside [0, {num_classes}) and not the ignore index '
            f'{ignore_index} (after reduce_zero_label={bool(reduce_zero_label)}'
            f'{" and the custom-class label_map" if label_map else ""}); fix the map or the dataset classes')
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def _dataset_items(dataset) -> tuple[list[str], int, int, bool, dict | None]:
    classes = dataset.metainfo.get('classes')
    if not classes:
        raise ClassCountsError(f'{type(dataset).__name__}: the dataset metainfo has no classes; cannot count pixels')
    paths = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if 'seg_map_path' not in info:
            raise ClassCountsError(f'{type(dataset).__name__}: sample {i} ({info.get("img_path")}) has no seg_map_path '
                                   '(data_prefix.seg_map_path is not set?)')
        paths.append(info['seg_map_path'])
    label_map = getattr(dataset, 'label_map', None)
    return (paths, len(classes), int(getattr(dataset, 'ignore_index', 255)),
            bool(getattr(dataset, 'reduce_zero_label', False)), label_map)


def _fingerprint(paths: list[str], num_classes: int, ignore_index: int, reduce_zero_label: bool,
                 label_map: dict | None) -> str:
    h = hashlib.sha1()
    h.update(json.dumps([num_classes, ignore_index, reduce_zero_label,
                         sorted((int(k), int(v)) for k, v in (label_map or {}).items())]).encode())
    for p in sorted(paths):
        try:
            st = os.stat(p)
        except FileNotFoundError:
            raise AnnotationError(f'{p}: annotation map not found (the image has no matching seg_map_suffix file '
                                  'under data_prefix.seg_map_path)') from None
        h.update(f'{osp.abspath(p)}\0{st.st_size}\0{st.st_mtime_ns}\n'.encode())
    return h.hexdigest()


def write_counts_file(path: str, counts: np.ndarray, header: list[str]) -> None:
    """Write a class-count file (one integer per line, ``#`` comments first) atomically."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        for line in header:
            f.write(f'# {line}\n')
        f.write('\n'.join(str(int(c)) for c in counts) + '\n')
    os.replace(tmp, path)


def dataset_pixel_counts(dataset, cache_dir: str | None = DEFAULT_CACHE_DIR, num_workers: int = 4,
                         logger='current') -> tuple[np.ndarray, str | None]:
    """Per-class training pixel counts of a built mmseg dataset, and the cache file they came from / went to (or None).

    Every leaf data set must have the same number of classes; counts of several leaves are summed.
    """
    total = None
    cache_path = None
    for leaf in base_seg_datasets(dataset):
        paths, num_classes, ignore_index, rzl, label_map = _dataset_items(leaf)
        if total is not None and total.size != num_classes:
            raise ClassCountsError(f'the concatenated training sets disagree on the number of classes '
                                   f'({total.size} vs {num_classes})')
        counts = None
        if cache_dir:
            key = _fingerprint(paths, num_classes, ignore_index, rzl, label_map)
            cache_path = osp.join(cache_dir, f'{key}.txt')
            if osp.isfile(cache_path):
                counts = load_class_counts(cache_path)
                if counts.size != num_classes:
                    counts = None
                else:
                    print_log(f'pixel counts of {len(paths)} maps loaded from the cache {cache_path}', logger)
        if counts is None:
            print_log(f'counting the training pixels of {len(paths)} annotation maps ({num_classes} classes)...',
                      logger)

            def hist(p, _c=num_classes, _i=ignore_index, _r=rzl, _m=label_map):
                return label_histogram(p, _c, _i, _r, _m)

            if num_workers and num_workers > 1 and len(paths) > 1:
                with ThreadPoolExecutor(num_workers) as pool:
                    hists = list(pool.map(hist, paths))
            else:
                hists = [hist(p) for p in paths]
            counts = np.sum(hists, axis=0, dtype=np.int64) if hists else np.zeros(num_classes, np.int64)
            if cache_dir:
                write_counts_file(cache_path, counts, [
                    'ltplug per-class training pixel counts (line i = class i; ignore index excluded)',
                    f'maps={len(paths)} reduce_zero_label={rzl} ignore_index={ignore_index} '
                    f'custom_label_map={label_map is not None}',
                    f'first map: {paths[0] if paths else None}'])
        total = counts if total is None else total + counts
    if total is None:
        raise ClassCountsError('the training set has no segmentation data set to count pixels in')
    return total, cache_path
