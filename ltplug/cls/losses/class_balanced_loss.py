"""``ClassBalancedLoss``: class-balanced re-weighting (Cui et al., CVPR 2019) of any mmpretrain / ltplug loss.

    loss=dict(type='ClassBalancedLoss', beta=0.9999, loss=dict(type='FocalLoss', gamma=1.0, alpha=0.5, loss_weight=2.0))

The wrapped loss is mmpretrain's own (``CrossEntropyLoss`` for softmax CE, ``FocalLoss`` for focal, and
``FocalLoss(gamma=0)`` for sigmoid CE: mmpretrain's sigmoid ``CrossEntropyLoss`` expects one-hot targets); this
wrapper only passes the per-sample weight w_{y_i} (the class-balanced weight of the sample's class, from the effective
number, normalised to sum C) through the loss's ``weight`` argument. In a ``ClsHead`` the loss is then
sum_i w_{y_i} l_i / N (mmpretrain's ``avg_factor`` = batch size), which is the official normalisation of the softmax,
sigmoid and focal variants (richardaecn/class-balanced-loss ``src/cifar_main.py``). ``class_weight`` is the live
weight vector; ``DeferredReweightingHook`` may set it (DRW for any wrapped loss).
Maths in :mod:`ltplug.core.class_balanced`; conventions and choices: docs/methods.md §8.2.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from ltplug.core.class_balanced import class_balanced_weights, per_sample_weights
from ltplug.core.counts import ClassCountsError, check_class_counts, load_class_counts


@MODELS.register_module()
class ClassBalancedLoss(nn.Module):
    """Weights every sample of the wrapped loss by its class's class-balanced weight.

    Args:
        loss: config of the wrapped loss (any loss whose ``forward`` takes a per-sample ``weight``).
        beta: effective-number parameter in [0, 1) (0 = no re-weighting, all weights 1).
        num_classes: checked against the class counts; default: from the counts.
        class_counts: training images per class (list or class-count file); otherwise set by ``ClassCountsHook``.
    """

    requires_class_counts = True

    def __init__(self, loss: dict, beta: float = 0.9999, num_classes: int | None = None, class_counts=None) -> None:
        super().__init__()
        if not isinstance(loss, dict) or 'type' not in loss:
            raise ValueError(f"ClassBalancedLoss: loss must be a loss config dict with a 'type' (loss.loss), got "
                             f'{loss}')
        beta = float(beta)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f'ClassBalancedLoss: beta must lie in [0, 1) (loss.beta), got {beta}')
        self.beta = beta
        self.num_classes = None if num_classes is None else int(num_classes)
        self.loss = MODELS.build(loss)
        self.class_weight: list[float] | None = None
        if class_counts is not None:
            self.set_class_counts(load_class_counts(class_counts))

    def set_class_counts(self, counts: np.ndarray) -> None:
        """Training images per class -> the class-balanced weights (also hands the counts to the wrapped loss)."""
        counts = check_class_counts(counts, self.num_classes, where='ClassBalancedLoss class counts')
        self.class_weight = class_balanced_weights(counts, self.beta, where='ClassBalancedLoss (loss.beta)').tolist()
        if self.num_classes is None:
            self.num_classes = int(counts.size)
        if hasattr(self.loss, 'set_class_counts'):
            self.loss.set_class_counts(counts)

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None,
                **kwargs) -> torch.Tensor:
        """The wrapped loss with per-sample weight w_{y_i} (times any given per-sample ``weight``)."""
        if self.class_weight is None:
            raise ClassCountsError("ClassBalancedLoss needs the per-class training counts: add "
                                   "dict(type='ClassCountsHook') to custom_hooks, or give class_counts=")
        if len(self.class_weight) != cls_score.shape[-1]:
            raise ClassCountsError(f'ClassBalancedLoss: the head outputs {cls_score.shape[-1]} classes but the class '
                                   f'weights have {len(self.class_weight)}; check head.num_classes')
        sample_w = per_sample_weights(cls_score.new_tensor(self.class_weight).detach(), label)
        if weight is not None:
            sample_w = sample_w * weight.to(sample_w.dtype).reshape(-1)
        return self.loss(cls_score, label, weight=sample_w, **kwargs)

    def extra_repr(self) -> str:
        return f'beta={self.beta}, num_classes={self.num_classes}'
