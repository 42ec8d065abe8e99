"""Checks for LVIS v1 annotation files, and an LVIS v1 data set that runs them before loading.

The lvis API and mmdet fail on a malformed file with a bare ``KeyError`` / ``AssertionError`` deep in their code;
:func:`check_lvis_dict` instead names the file, the list, the entry index and id, and what was expected. It checks
what LVIS v1 training and the official evaluation read: unique ids; images with id / width / height / ``coco_url`` (or
``file_name``) / ``neg_category_ids`` / ``not_exhaustive_category_ids``; annotations with id / image_id / category_id
pointing at existing entries, a positive finite ``bbox`` [x, y, w, h], ``area`` and a polygon (or RLE) ``segmentation``;
categories with id / name / ``frequency`` in {r, c, f} (and, optionally, ``image_count`` / ``instance_count``).

``python -m ltplug.det check-lvis FILE [FILE ...]`` checks files from the command line.
"""
from __future__ import annotations

import json
import math
import os.path as osp
from collections.abc import Iterable

import numpy as np
from mmdet.datasets import LVISV1Dataset
from mmdet.registry import DATASETS
from mmengine.fileio import get_local_path

FREQUENCIES = ('r', 'c', 'f')
IMAGE_KEYS = ('id', 'width', 'height', 'neg_category_ids', 'not_exhaustive_category_ids')
ANN_KEYS = ('id', 'image_id', 'category_id', 'bbox', 'area', 'segmentation')
CAT_KEYS = ('id', 'name', 'frequency')
COUNT_KEYS = ('image_count', 'instance_count')


class LVISFormatError(ValueError):
    """An LVIS annotation file does not follow the LVIS v1 format."""


def _entry(where: str, kind: str, i: int, entry) -> str:
    ident = entry.get('id') if isinstance(entry, dict) else None
    return f'{where}: {kind}[{i}]' + (f' (id {ident})' if ident is not None else '')


def _require_list(data: dict, key: str, where: str) -> list:
    if key not in data:
        raise LVISFormatError(f'{where}: missing the top-level list "{key}" (an LVIS file has images, annotations and '
                              'categories)')
    value = data[key]
    if not isinstance(value, list):
        raise LVISFormatError(f'{where}: "{key}" must be a list, got {type(value).__name__}')
    return value


def _check_keys(entries: list, kind: str, keys: Iterable[str], where: str) -> None:
    keys = tuple(keys)
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise LVISFormatError(f'{where}: {kind}[{i}] must be an object, got {type(e).__name__}')
        missing = [k for k in keys if k not in e]
        if missing:
            raise LVISFormatError(f'{_entry(where, kind, i, e)}: missing {missing}')


def _unique_ids(entries: list, kind: str, where: str) -> np.ndarray:
    ids = [e['id'] for e in entries]
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in ids):
        i = next(i for i, x in enumerate(ids) if not (isinstance(x, int) and not isinstance(x, bool)))
        raise LVISFormatError(f'{where}: {kind}[{i}]: id must be an integer, got {ids[i]!r}')
    arr = np.asarray(ids, dtype=np.int64)
    uniq, counts = np.unique(arr, return_counts=True)
    if np.any(counts > 1):
        raise LVISFormatError(f'{where}: duplicate {kind} ids {uniq[counts > 1][:10].tolist()}')
    return arr


def _check_id_list(entries: list, kind: str, key: str, valid: np.ndarray, where: str) -> None:
    valid_set = set(valid.tolist())
    for i, e in enumerate(entries):
        ids = e[key]
        if not isinstance(ids, list):
            raise LVISFormatError(f'{_entry(where, kind, i, e)}: "{key}" must be a list of category ids')
        bad = [x for x in ids if x not in valid_set]
        if bad:
            raise LVISFormatError(f'{_entry(where, kind, i, e)}: "{key}" holds unknown category ids {bad[:10]}')


def _check_segmentation(seg, where: str) -> None:
    if isinstance(seg, dict):
        if 'counts' not in seg or 'size' not in seg:
            raise LVISFormatError(f'{where}: an RLE segmentation needs "counts" and "size"')
        return
    if not isinstance(seg, list) or not seg:
        raise LVISFormatError(f'{where}: segmentation must be a non-empty list of polygons [x1, y1, x2, y2, ...] '
                              f'(or an RLE dict), got {type(seg).__name__}')
    for j, poly in enumerate(seg):
        if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
            n = len(poly) if isinstance(poly, list) else type(poly).__name__
            raise LVISFormatError(f'{where}: segmentation polygon {j} must be a flat list of an even number (>= 6) of '
                                  f'coordinates, got {n}')
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in poly):
            raise LVISFormatError(f'{where}: segmentation polygon {j} holds non-finite or non-numeric coordinates')


def check_lvis_dict(data: dict, where: str = '<LVIS dict>', require_counts: bool = False) -> None:
    """Raise :class:`LVISFormatError` naming the file / entry if ``data`` is not a valid LVIS v1 annotation dict."""
    if not isinstance(data, dict):
        raise LVISFormatError(f'{where}: the top level must be a JSON object, got {type(data).__name__}')
    images = _require_list(data, 'images', where)
    anns = _require_list(data, 'annotations', where)
    cats = _require_list(data, 'categories', where)
    if not cats:
        raise LVISFormatError(f'{where}: "categories" is empty')

    _check_keys(cats, 'categories', CAT_KEYS + (COUNT_KEYS if require_counts else ()), where)
    cat_ids = _unique_ids(cats, 'categories', where)
    for i, c in enumerate(cats):
        if c['frequency'] not in FREQUENCIES:
            raise LVISFormatError(f'{_entry(where, "categories", i, c)}: frequency must be one of {FREQUENCIES} '
                                  f'(rare / common / frequent), got {c["frequency"]!r}')
        for k in COUNT_KEYS:
            if k in c and not (isinstance(c[k], int) and not isinstance(c[k], bool) and c[k] >= 0):
                raise LVISFormatError(f'{_entry(where, "categories", i, c)}: {k} must be an integer >= 0, got {c[k]!r}')

    _check_keys(images, 'images', IMAGE_KEYS, where)
    img_ids = _unique_ids(images, 'images', where)
    for i, im in enumerate(images):
        if 'coco_url' not in im and 'file_name' not in im:
            raise LVISFormatError(f'{_entry(where, "images", i, im)}: needs "coco_url" (LVIS v1) or "file_name"')
        for k in ('width', 'height'):
            if not (isinstance(im[k], int) and not isinstance(im[k], bool) and im[k] > 0):
                raise LVISFormatError(f'{_entry(where, "images", i, im)}: {k} must be a positive integer, '
                                      f'got {im[k]!r}')
    _check_id_list(images, 'images', 'neg_category_ids', cat_ids, where)
    _check_id_list(images, 'images', 'not_exhaustive_category_ids', cat_ids, where)

    _check_keys(anns, 'annotations', ANN_KEYS, where)
    if anns:
        _unique_ids(anns, 'annotations', where)
        for key, valid, kind in (('image_id', img_ids, 'images'), ('category_id', cat_ids, 'categories')):
            ref = np.asarray([a[key] for a in anns])
            bad = ~np.isin(ref, valid)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise LVISFormatError(f'{_entry(where, "annotations", i, anns[i])}: {key} {anns[i][key]!r} is not '
                                      f'the id of any entry in "{kind}" ({int(bad.sum())} such annotations)')
        for i, a in enumerate(anns):
            box = a['bbox']
            if not (isinstance(box, list) and len(box) == 4
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in box)
                    and box[2] > 0 and box[3] > 0):
                raise LVISFormatError(f'{_entry(where, "annotations", i, a)}: bbox must be [x, y, w, h] with finite '
                                      f'numbers and w, h > 0, got {box!r}')
            if not (isinstance(a['area'], (int, float)) and not isinstance(a['area'], bool) and a['area'] >= 0):
                raise LVISFormatError(f'{_entry(where, "annotations", i, a)}: area must be a number >= 0, '
                                      f'got {a["area"]!r}')
            _check_segmentation(a['segmentation'], _entry(where, 'annotations', i, a))


def load_lvis_json(path: str, require_counts: bool = False, backend_args: dict | None = None) -> dict:
    """Read and check an LVIS annotation file; clear errors for a missing file, bad JSON or a malformed entry."""
    with get_local_path(path, backend_args=backend_args) as local:
        if not osp.isfile(local):
            raise LVISFormatError(f'{path}: annotation file not found')
        try:
            with open(local) as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise LVISFormatError(f'{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})') from None
    check_lvis_dict(data, where=path, require_counts=require_counts)
    return data


@DATASETS.register_module()
class CheckedLVISV1Dataset(LVISV1Dataset):
    """mmdet's ``LVISV1Dataset``, unchanged, except that the annotation file is checked first (:func:`check_lvis_dict`)
    so a malformed file fails with a message naming the file and entry. ``check_annotations=False`` skips the check
    (it reads the JSON once more: about a minute for the full LVIS v1 train file)."""

    def __init__(self, *args, check_annotations: bool = True, **kwargs) -> None:
        self.check_annotations = bool(check_annotations)
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> list[dict]:
        if self.check_annotations:
            # kept for DetClassCountsHook(source='instance_count' / 'image_count'), which then needs no third read
            self.lvis_categories = load_lvis_json(self.ann_file, backend_args=self.backend_args)['categories']
        return super().load_data_list()

