"""Category extrapolation data: a long-tailed target set merged with auxiliary open-set neighbour classes.

Gran_LT (docs/methods.md §5.3): the training label space holds K = C_tgt + C_aux classes, targets first; every epoch the
auxiliary classes are re-subsampled (``re_arrange``) while the target classes keep all their images; the prior of the
loss comes from the first build. :class:`CategoryExtrapolationDataset` does this the mmengine way (``set_epoch``,
deterministic per (seed, epoch)), and ``CategoryExtrapolationHook`` (``ltplug/engine/hooks/category_extrapolation.py``)
calls ``set_epoch`` before every training epoch and hands the class counts / neighbour pairs to the loss and the
target-only counts to the metrics.

Neighbour-map file (JSON): ``{"<target>": [<auxiliary>, ...], ...}`` or ``{"neighbours": {...}, ...metadata}``. Targets
and auxiliaries are given by id (in the target / auxiliary data set's own label space, 0-based; JSON keys are strings
such as ``"3"``) or by class name (looked up in the data sets' ``metainfo['classes']``).
"""
from __future__ import annotations

import copy
import json
import os
import os.path as osp
from collections.abc import Mapping, Sequence

import numpy as np
from mmengine.dataset import Compose
from mmpretrain.registry import DATASETS
from torch.utils.data import Dataset

from ltplug.core.counts import dataset_labels
from ltplug.core.neighbour import auxiliary_quota, neighbour_pairs


class NeighbourMapError(ValueError):
    """A malformed neighbour-map file; the message names the file and the offending entry."""


def _resolve(key, names: Sequence[str] | None, num: int, what: str, path: str) -> int:
    """An id (int or integer string) or a class name -> id, with an error naming the file and the entry."""
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise NeighbourMapError(f'{path}: {what} {key!r} must be an integer id or a class name')
    if isinstance(key, str):
        try:
            idx = int(key)
        except ValueError:
            lookup = {str(n): i for i, n in enumerate(names or ())}
            if key not in lookup:
                raise NeighbourMapError(f'{path}: unknown {what} class name {key!r} (not in the {what} data set\'s '
                                        'metainfo classes)') from None
            return lookup[key]
    else:
        idx = key
    if not 0 <= idx < num:
        raise NeighbourMapError(f'{path}: {what} id {idx} is outside [0, {num}) ({num} {what} classes)')
    return idx


def load_neighbour_map(path_or_map: str | os.PathLike | Mapping, num_target_classes: int, num_aux_classes: int,
                       target_classes: Sequence[str] | None = None,
                       aux_classes: Sequence[str] | None = None) -> dict[int, list[int]]:
    """Read and validate a neighbour map: target id -> sorted auxiliary ids (each in its data set's own space)."""
    if isinstance(path_or_map, Mapping):
        raw, path = path_or_map, '<neighbour_map dict>'
    else:
        path = os.fspath(path_or_map)
        if not osp.isfile(path):
            raise NeighbourMapError(f'neighbour map file not found: {path}')
        try:
            with open(path) as f:
                raw = json.load(f)
        except json.JSONDecodeError as e:
            raise NeighbourMapError(f'{path}:{e.lineno}: not valid JSON ({e.msg})') from None
    if isinstance(raw, Mapping) and 'neighbours' in raw:
        raw = raw['neighbours']
    if not isinstance(raw, Mapping):
        raise NeighbourMapError(f'{path}: expected an object {{target: [auxiliary, ...]}}, got {type(raw).__name__}')
    out: dict[int, list[int]] = {}
    for key, auxs in raw.items():  # parsing a config file: once, at build time
        t = _resolve(key, target_classes, num_target_classes, 'target', path)
        if t in out:
            raise NeighbourMapError(f'{path}: target class {t} is listed twice (entry {key!r})')
        if not isinstance(auxs, (list, tuple)):
            raise NeighbourMapError(f'{path}: entry {key!r} must map to a list of auxiliary classes, got '
                                    f'{type(auxs).__name__}')
        ids = [_resolve(a, aux_classes, num_aux_classes, 'auxiliary', path) for a in auxs]
        if len(set(ids)) != len(ids):
            raise NeighbourMapError(f'{path}: entry {key!r} lists an auxiliary class twice: {auxs}')
        out[t] = sorted(ids)
    return out


def _num_classes(dataset, given: int | None, what: str) -> int:
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if classes:
        if given is not None and int(given) != len(classes):
            raise ValueError(f'CategoryExtrapolationDataset: num_{what}_classes={given} but the {what} data set has '
                             f'{len(classes)} class names')
        return len(classes)
    if given is None:
        raise ValueError(f'CategoryExtrapolationDataset: the {what} data set has no metainfo classes; give '
                         f'num_{what}_classes=')
    return int(given)


def _check_no_pipeline(dataset, what: str) -> None:
    pipeline = getattr(dataset, 'pipeline', None)
    if pipeline is not None and len(getattr(pipeline, 'transforms', ())) > 0:
        raise ValueError(f'CategoryExtrapolationDataset: give the pipeline to the wrapper, not to the {what} data set '
                         f'(its {len(pipeline.transforms)} transforms would be skipped: the wrapper shifts the '
                         'labels on the raw data infos before running its own pipeline)')


@DATASETS.register_module()
class CategoryExtrapolationDataset(Dataset):
    """Target long-tailed data set + auxiliary neighbour classes, auxiliaries re-subsampled every epoch.

    Labels: target classes keep their ids 0..C_tgt-1; the auxiliary classes used get C_tgt..K-1 (in increasing order of
    their id in the auxiliary data set). Every epoch (``set_epoch``), each auxiliary class listed in the neighbour map
    gets a fresh random subset of ``quota`` images (:func:`ltplug.core.neighbour.auxiliary_quota`): with m its reference
    count, m > high -> cap (50), low < m <= high -> m, m <= low -> cap (50), at most what the class has. The subset is
    deterministic per (seed, epoch); the per-class sizes, hence ``len`` and the class counts, never change.

    Args:
        target, auxiliary: data set configs (or built data sets) whose samples carry ``gt_label``; give them no
            pipeline (this wrapper runs ``pipeline`` after shifting the labels).
        neighbour_map: the JSON file (or a dict) target -> auxiliary classes; ids are validated with errors naming the
            file and entry.
        pipeline: transforms applied to every sample (after the label shift).
        aux_classes: ``'listed'`` (default): only the auxiliary classes named in the map are used (K = C_tgt + number
            listed); ``'all'``: every auxiliary class; those not in the map keep all their images and are never
            silenced (the official ImageFolder behaviour).
        reference_counts: m of each listed auxiliary class: ``'target'`` (default [INFER]: the training count of its
            target class, the smallest one if several targets list it), ``'available'`` (its own image count), or a
            mapping / JSON file auxiliary id-or-name -> m (the official ``wordname_to_num``).
        quota: the thresholds of the rule, ``dict(high=100, low=20, cap=50)`` (official values).
        resample: False uses every auxiliary image every epoch (no sub-sampling).
        seed: seed of the sub-sampling (with the epoch).
        num_target_classes, num_aux_classes: needed only when a data set has no ``metainfo['classes']``.
    """

    def __init__(self, target: dict | Dataset, auxiliary: dict | Dataset, neighbour_map: str | Mapping,
                 pipeline: Sequence = (), aux_classes: str = 'listed', reference_counts: str | Mapping = 'target',
                 quota: dict | None = None, resample: bool = True, seed: int = 0,
                 num_target_classes: int | None = None, num_aux_classes: int | None = None,
                 test_mode: bool = False) -> None:
        if aux_classes not in ('listed', 'all'):
            raise ValueError(f"CategoryExtrapolationDataset: aux_classes must be 'listed' or 'all', got "
                             f'{aux_classes!r}')
        self.target = DATASETS.build(target) if isinstance(target, dict) else target
        self.auxiliary = DATASETS.build(auxiliary) if isinstance(auxiliary, dict) else auxiliary
        _check_no_pipeline(self.target, 'target')
        _check_no_pipeline(self.auxiliary, 'auxiliary')
        self.pipeline = Compose(list(pipeline))
        self.test_mode = test_mode
        self.seed = int(seed)
        self.resample = bool(resample)
        self.quota_cfg = {'high': 100, 'low': 20, 'cap': 50, **(quota or {})}
        if set(self.quota_cfg) != {'high', 'low', 'cap'}:
            raise ValueError(f'CategoryExtrapolationDataset: quota takes high, low and cap, got {sorted(quota)}')
        self.num_target_classes = _num_classes(self.target, num_target_classes, 'target')
        n_aux_all = _num_classes(self.auxiliary, num_aux_classes, 'aux')
        tgt_names = list((getattr(self.target, 'metainfo', None) or {}).get('classes') or
                         [str(i) for i in range(self.num_target_classes)])
        aux_names = list((getattr(self.auxiliary, 'metainfo', None) or {}).get('classes') or
                         [str(i) for i in range(n_aux_all)])
        self.neighbour_map_source = '<dict>' if isinstance(neighbour_map, Mapping) else os.fspath(neighbour_map)
        nmap = load_neighbour_map(neighbour_map, self.num_target_classes, n_aux_all, tgt_names, aux_names)

        # labels of both data sets (no image loading)
        tgt_labels = dataset_labels(self.target)
        aux_labels = dataset_labels(self.auxiliary)
        for what, labels, num in (('target', tgt_labels, self.num_target_classes),
                                  ('auxiliary', aux_labels, n_aux_all)):
            if labels.size and (labels.min() < 0 or labels.max() >= num):
                raise ValueError(f'CategoryExtrapolationDataset: {what} labels outside [0, {num})')
        tgt_counts = np.bincount(tgt_labels, minlength=self.num_target_classes)
        aux_avail = np.bincount(aux_labels, minlength=n_aux_all)

        listed = np.zeros(n_aux_all, dtype=bool)
        for auxs in nmap.values():
            listed[auxs] = True
        used = listed if aux_classes == 'listed' else np.ones(n_aux_all, dtype=bool)
        if not used.any():
            raise NeighbourMapError(f'{self.neighbour_map_source}: the neighbour map lists no auxiliary class')
        empty = np.flatnonzero(used & (aux_avail == 0))
        if empty.size:
            raise ValueError(f'CategoryExtrapolationDataset: auxiliary classes {[aux_names[i] for i in empty[:10]]} '
                             f'(ids {empty[:10].tolist()}) are used but have no image in the auxiliary data set')
        remap = np.full(n_aux_all, -1, dtype=np.int64)
        remap[used] = np.arange(int(used.sum())) + self.num_target_classes
        self.aux_class_ids = np.flatnonzero(used)  # auxiliary-set id of merged class C_tgt + i
        self.num_aux_classes = int(used.sum())
        self.num_classes = self.num_target_classes + self.num_aux_classes
        self.neighbours = nmap
        pairs = neighbour_pairs(nmap, self.num_target_classes, n_aux_all)
        pairs[:, 1] = remap[pairs[:, 1] - self.num_target_classes]
        self.neighbour_pairs = pairs

        # quota of every used auxiliary class (merged order); unlisted ('all') keep all their images
        ref = self._reference_counts(reference_counts, nmap, tgt_counts, aux_avail, aux_names)
        quota_all = np.where(listed, auxiliary_quota(ref, aux_avail, **self.quota_cfg), aux_avail)
        if not self.resample:
            quota_all = aux_avail
        self.aux_quota = quota_all[used].astype(np.int64)

        keep_aux = used[aux_labels]
        self._aux_local = np.flatnonzero(keep_aux)
        self._aux_merged = remap[aux_labels[keep_aux]]
        self._tgt_labels = tgt_labels
        self.metainfo = dict(classes=tuple(tgt_names) + tuple(aux_names[i] for i in self.aux_class_ids),
                             num_target_classes=self.num_target_classes)
        self.epoch: int | None = None
        self.set_epoch(0)  # the first build: its counts give the prior (as the official code)
        self._class_counts = np.bincount(self._labels, minlength=self.num_classes).astype(np.int64)

    @staticmethod
    def _reference_counts(spec, nmap: dict[int, list[int]], tgt_counts: np.ndarray, aux_avail: np.ndarray,
                          aux_names: list[str]) -> np.ndarray:
        n_aux = aux_avail.size
        if isinstance(spec, str) and spec == 'available':
            return aux_avail.copy()
        if isinstance(spec, str) and spec == 'target':
            ref = np.full(n_aux, np.iinfo(np.int64).max, dtype=np.int64)
            t = np.asarray([t for t, auxs in nmap.items() for _ in auxs], dtype=np.int64)
            a = np.asarray([a for auxs in nmap.values() for a in auxs], dtype=np.int64)
            np.minimum.at(ref, a, tgt_counts[t])
            return np.where(ref == np.iinfo(np.int64).max, aux_avail, ref)
        path = spec if isinstance(spec, str) else '<reference_counts dict>'
        if isinstance(spec, str):
            if not osp.isfile(spec):
                raise ValueError(f"CategoryExtrapolationDataset: reference_counts must be 'target', 'available', a "
                                 f'dict or a JSON file; {spec!r} is none of them')
            with open(spec) as f:
                spec = json.load(f)
        ref = aux_avail.copy()
        for key, m in dict(spec).items():
            idx = _resolve(key, aux_names, n_aux, 'auxiliary', path)
            if isinstance(m, bool) or not isinstance(m, int) or m < 0:
                raise NeighbourMapError(f'{path}: the reference count of {key!r} must be an integer >= 0, got {m!r}')
            ref[idx] = m
        return ref

    # ---- epoch-wise re-subsampling ----------------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Draw the auxiliary subset of ``epoch`` (deterministic per (seed, epoch)); targets are always complete."""
        epoch = int(epoch)
        if epoch == self.epoch:
            return
        labels = self._aux_merged
        if self.resample:
            keys = np.random.default_rng([self.seed, epoch]).random(labels.size)
            order = np.lexsort((keys, labels))  # grouped by class, random inside a class
            sorted_labels = labels[order]
            rank = np.arange(labels.size) - np.searchsorted(sorted_labels, sorted_labels, side='left')
            chosen = np.sort(order[rank < self.aux_quota[sorted_labels - self.num_target_classes]])
        else:
            chosen = np.arange(labels.size)
        n_tgt = self._tgt_labels.size
        self._source = np.concatenate([np.zeros(n_tgt, np.int8), np.ones(chosen.size, np.int8)])
        self._local = np.concatenate([np.arange(n_tgt), self._aux_local[chosen]])
        self._labels = np.concatenate([self._tgt_labels, labels[chosen]]).astype(np.int64)
        self.epoch = epoch

    # ---- dataset API ------------------------------------------------------------------------------------------------
    def full_init(self) -> None:
        """Everything is initialised at construction (mmengine API)."""

    def __len__(self) -> int:
        return int(self._labels.size)

    def get_data_info(self, idx: int) -> dict:
        """The raw info of sample ``idx`` (from the target or auxiliary set) with its merged ``gt_label``."""
        src = self.target if self._source[idx] == 0 else self.auxiliary
        info = copy.deepcopy(src.get_data_info(int(self._local[idx])))
        info['gt_label'] = int(self._labels[idx])
        info['sample_idx'] = int(idx)
        return info

    def __getitem__(self, idx: int) -> dict:
        data = self.pipeline(self.get_data_info(idx))
        if data is None:
            raise ValueError(f'CategoryExtrapolationDataset: the pipeline dropped sample {idx} (returned None)')
        return data

    def get_gt_labels(self) -> np.ndarray:
        """Merged labels of the current epoch's samples."""
        return self._labels.copy()

    def get_cat_ids(self, idx: int) -> list[int]:
        return [int(self._labels[idx])]

    def get_class_counts(self) -> np.ndarray:
        """Images per class over all K classes in the first build (the per-class sizes never change)."""
        return self._class_counts.copy()

    @property
    def target_class_counts(self) -> np.ndarray:
        return self._class_counts[:self.num_target_classes].copy()

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(targets={self.num_target_classes}, auxiliary={self.num_aux_classes}, '
                f'samples={len(self)} ({int(self._class_counts[:self.num_target_classes].sum())} target), '
                f'pairs={len(self.neighbour_pairs)}, map={self.neighbour_map_source})')


def find_extrapolation_dataset(dataset) -> CategoryExtrapolationDataset | None:
    """The :class:`CategoryExtrapolationDataset` inside ``dataset`` (itself or wrapped by mmengine wrappers)."""
    seen = 0
    while dataset is not None and seen < 8:
        if isinstance(dataset, CategoryExtrapolationDataset):
            return dataset
        dataset = getattr(dataset, 'dataset', None)
        seen += 1
    return None
