"""``DeferredReweightingHook``: DRW (Cao et al., NeurIPS 2019) for any loss with a per-class ``class_weight``.

Before ``start_epoch`` every target loss trains with its own configured ``class_weight``; from epoch index
``start_epoch`` on (0-based, as ``idx = epoch // 160`` in kaidic/LDAM-DRW ``cifar_train.py``) it trains with the
effective-number weights (1 - beta) / (1 - beta^n_c), normalised to sum C (beta = 0.9999 officially). It is
:class:`ClassWeightHook` with a required start epoch; targets, resume behaviour and counts are that hook's. How a loss
normalises a weighted batch is the loss's own rule (``LDAMLoss``: the weighted mean of the official code; mmpretrain
losses in a ``ClsHead``: the sum of weighted losses / batch size). See docs/methods.md §8.1.
"""
from __future__ import annotations

from mmengine.registry import HOOKS

from .class_weight import ClassWeightHook


@HOOKS.register_module()
class DeferredReweightingHook(ClassWeightHook):
    """Effective-number class weights from epoch index ``start_epoch`` on (160 of 200 in the official CIFAR runs).

    Args:
        start_epoch: first (0-based) epoch trained with the re-weighting.
        beta: effective-number parameter in [0, 1).
        class_counts / counts_hook: where the counts come from (see ``ClassWeightHook``).
    """

    def __init__(self, start_epoch: int, beta: float = 0.9999, class_counts=None, counts_hook: dict | None = None
                 ) -> None:
        super().__init__(start_epoch=start_epoch, weighting='effective_number', beta=beta, class_counts=class_counts,
                         counts_hook=counts_hook)
