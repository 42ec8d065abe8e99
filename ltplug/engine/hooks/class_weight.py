"""``ClassWeightHook``: per-class loss weights from the training class counts, for any loss with ``class_weight``.

One mechanism for every task and loss: the hook computes weights from the run's class counts (image counts through
``ClassCountsHook``'s resolution, pixel counts with ``counts_hook=dict(type='SegPixelCountsHook')``, instance counts
with ``DetClassCountsHook``) and assigns them to the ``class_weight`` attribute of the outermost modules of the model
that have one (mmpretrain / mmseg / mmdet ``CrossEntropyLoss``, ``LDAMLoss``, ``LogitAdjustedLoss``,
``ClassBalancedLoss``; nested modules are left alone), from epoch index ``start_epoch`` on (0: from the start; > 0 needs
an epoch-based loop, and before it the losses keep their configured weights). Weights are set again at every
``before_train_epoch``, so a resumed run has the right ones. Weightings (:mod:`ltplug.core.class_balanced`):
``effective_number`` (Cui et al. 2019; ``beta``) and ``inverse_power`` (n_c^-power); both sum to C.
``DeferredReweightingHook`` (DRW) is this hook with a start epoch. See docs/methods.md §8.1 (DRW), §8.2 (weights).
"""
from __future__ import annotations

import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop

from ltplug.core.class_balanced import class_balanced_weights, inverse_power_weights
from ltplug.core.counts import ClassCountsError

from .class_counts import ClassCountsHook

WEIGHTINGS = ('effective_number', 'inverse_power')


def find_weighted_losses(model) -> list[tuple[str, object]]:
    """(name, module) of the outermost modules with a ``class_weight`` attribute (nested ones are left alone)."""
    if is_model_wrapper(model):
        model = model.module
    found: list[tuple[str, object]] = []
    for name, module in model.named_modules():
        if module is model or not hasattr(module, 'class_weight'):
            continue
        if any(name.startswith(outer + '.') for outer, _ in found):
            continue
        found.append((name, module))
    return found


@HOOKS.register_module()
class ClassWeightHook(Hook):
    """Set the losses' ``class_weight`` from the class counts, from epoch index ``start_epoch`` on.

    Args:
        start_epoch: first (0-based) epoch trained with the weights; 0 = the whole run (any train loop).
        weighting: 'effective_number' ((1 - beta) / (1 - beta^n)) or 'inverse_power' (n^-power); normalised to sum C.
        beta: effective-number parameter in [0, 1).
        power: exponent of 'inverse_power' (>= 0).
        class_counts: training counts (list or class-count file); default: from ``counts_hook``.
        counts_hook: config of the counts hook whose ``resolve(runner)`` gives the counts (default ``ClassCountsHook``:
            the training set's image counts); ``dict(type='SegPixelCountsHook')`` for segmentation pixel counts.
    """

    priority = 'NORMAL'

    def __init__(self, start_epoch: int = 0, weighting: str = 'effective_number', beta: float = 0.9999,
                 power: float = 1.0, class_counts=None, counts_hook: dict | None = None) -> None:
        name = type(self).__name__
        if int(start_epoch) != start_epoch or start_epoch < 0:
            raise ValueError(f'{name}: start_epoch must be an integer >= 0, got {start_epoch}')
        if weighting not in WEIGHTINGS:
            raise ValueError(f'{name}: weighting must be one of {WEIGHTINGS}, got {weighting!r}')
        if not 0.0 <= float(beta) < 1.0:
            raise ValueError(f'{name}: beta must lie in [0, 1), got {beta}')
        self.start_epoch = int(start_epoch)
        self.weighting = weighting
        self.beta = float(beta)
        self.power = float(power)
        if class_counts is not None:
            self._counts_source = ClassCountsHook(class_counts)
        elif counts_hook is not None:
            self._counts_source = HOOKS.build(counts_hook)
        else:
            self._counts_source = ClassCountsHook()
        self.weights: np.ndarray | None = None
        self._targets: list[tuple[str, object, object]] = []  # (name, module, its configured class_weight)
        self._on: bool | None = None

    def _compute(self, counts: np.ndarray) -> np.ndarray:
        where = f'{type(self).__name__} ({self.weighting})'
        if self.weighting == 'effective_number':
            return class_balanced_weights(counts, self.beta, where=where)
        return inverse_power_weights(counts, self.power, where=where)

    def before_train(self, runner) -> None:
        name = type(self).__name__
        if self.start_epoch > 0 and not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise ValueError(f'{name} (custom_hooks): start_epoch={self.start_epoch} needs an epoch-based train loop '
                             '(train_cfg.by_epoch=True)')
        found = find_weighted_losses(runner.model)
        if not found:
            raise ValueError(f'{name} (custom_hooks): the model has no loss with a class_weight (use '
                             "CrossEntropyLoss, LDAMLoss, or wrap the loss in dict(type='ClassBalancedLoss', beta=0.0, "
                             'loss=...))')
        counts = self._counts_source.resolve(runner)
        if counts is None:
            raise ClassCountsError(f'{name} needs the per-class training counts: the run has no training set and the '
                                   'hook got no class_counts=')
        self.weights = self._compute(np.asarray(counts))
        for loss_name, module in found:
            num_classes = getattr(module, 'num_classes', None)
            if num_classes is not None and num_classes != self.weights.size:
                raise ClassCountsError(f'{name}: {loss_name} has num_classes={num_classes} but the class counts have '
                                       f'{self.weights.size} classes')
        self._targets = [(n, m, m.class_weight) for n, m in found]
        self._on = None
        if self.start_epoch == 0:
            self._set(runner, True)

    def _set(self, runner, on: bool) -> None:
        for _, module, configured in self._targets:
            module.class_weight = self.weights.tolist() if on else configured
        if on != self._on:
            kind = f'{self.weighting} class weights' if on else 'their configured class_weight'
            runner.logger.info(f'{type(self).__name__}: from epoch index {runner.epoch} on, '
                               f'{", ".join(n for n, _, _ in self._targets)} train with {kind}')
            self._on = on

    def before_train_epoch(self, runner) -> None:
        self._set(runner, runner.epoch >= self.start_epoch)
