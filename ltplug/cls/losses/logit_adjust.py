"""``LogitAdjustedLoss``: CE(z + tau * log pi, y), usable with any mmpretrain ``ClsHead`` (BCL's classification loss).

    head=dict(type='LinearClsHead', ..., loss=dict(type='LogitAdjustedLoss', tau=1.0))

The class prior comes from ``class_counts=`` (list or class-count file) or from ``ClassCountsHook``
(``set_class_counts`` with the train set's counts before the run). It is kept in a persistent buffer, so a checkpoint
carries it. The adjustment only exists inside the loss, i.e. in training: prediction uses the head's plain logits.
Maths in :mod:`ltplug.core.logit_adjust`.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from mmpretrain.models.losses.utils import weight_reduce_loss
from mmpretrain.registry import MODELS

from ltplug.core.counts import ClassCountsError, check_class_counts, load_class_counts
from ltplug.core.logit_adjust import log_class_prior, logit_adjusted_cross_entropy


@MODELS.register_module()
class LogitAdjustedLoss(nn.Module):
    """Logit-adjusted cross-entropy with the training class prior (Menon et al. 2021; BCL's ``LogitAdjust``).

    Args:
        tau: weight of the log prior (1.0 in BCL).
        num_classes: number of classes (checked against the counts and the logits); default: from the counts.
        class_counts: training images per class (list or class-count file); otherwise set by ``ClassCountsHook``.
        loss_weight: multiplier of the loss.
        reduction: 'mean' (default), 'sum' or 'none'.
    """

    requires_class_counts = True

    def __init__(self, tau: float = 1.0, num_classes: int | None = None, class_counts=None, loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        tau = float(tau)
        if not np.isfinite(tau):
            raise ValueError(f'LogitAdjustedLoss: tau must be a finite number (loss.tau), got {tau}')
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"LogitAdjustedLoss: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
        if num_classes is not None and int(num_classes) < 1:
            raise ValueError(f'LogitAdjustedLoss: num_classes must be >= 1, got {num_classes}')
        self.tau = tau
        self.num_classes = None if num_classes is None else int(num_classes)
        self.loss_weight = float(loss_weight)
        self.reduction = reduction
        # log(n_c / N); empty until counts are set (a checkpoint restores it, see _load_from_state_dict)
        self.register_buffer('log_prior', torch.zeros(0), persistent=True)
        if class_counts is not None:
            self.set_class_counts(load_class_counts(class_counts))

    @property
    def has_class_counts(self) -> bool:
        """Whether the class prior is known (from counts or a checkpoint)."""
        return self.log_prior.numel() > 0

    def set_class_counts(self, counts: np.ndarray) -> None:
        """Training images per class -> the log prior log(n_c / N) (zero counts are an error: log 0 = -inf)."""
        counts = check_class_counts(counts, self.num_classes, where='LogitAdjustedLoss class counts')
        self.log_prior = log_class_prior(counts, where='LogitAdjustedLoss class counts').to(self.log_prior.device)
        if self.num_classes is None:
            self.num_classes = int(counts.size)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        value = state_dict.get(prefix + 'log_prior')
        if value is not None and value.shape != self.log_prior.shape:
            if self.num_classes is not None and value.numel() not in (0, self.num_classes):
                raise ClassCountsError(f'LogitAdjustedLoss: the checkpoint\'s {prefix}log_prior has {value.numel()} '
                                       f'classes but num_classes={self.num_classes}')
            self.log_prior = torch.empty_like(value, device=self.log_prior.device)
            if self.num_classes is None and value.numel():
                self.num_classes = int(value.numel())
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None,
                avg_factor: float | None = None, reduction_override: str | None = None, **kwargs) -> torch.Tensor:
        """Loss of the (unadjusted) logits ``cls_score`` (N, C) for labels (N,) or soft scores (N, C)."""
        if not self.has_class_counts:
            raise ClassCountsError(
                'LogitAdjustedLoss needs the per-class training counts (the class prior): add '
                "dict(type='ClassCountsHook') to custom_hooks, or give loss=dict(type='LogitAdjustedLoss', "
                'class_counts=[...] or a class-count file)')
        if cls_score.shape[-1] != self.log_prior.numel():
            raise ClassCountsError(
                f'LogitAdjustedLoss: the head outputs {cls_score.shape[-1]} classes but the class counts have '
                f'{self.log_prior.numel()}; check head.num_classes against the training set / class_counts')
        loss = logit_adjusted_cross_entropy(cls_score, label, self.log_prior, self.tau, reduction='none')
        if weight is not None:
            weight = weight.float()
        reduction = reduction_override or self.reduction
        return self.loss_weight * weight_reduce_loss(loss, weight=weight, reduction=reduction, avg_factor=avg_factor)

    def extra_repr(self) -> str:
        return f'tau={self.tau}, num_classes={self.num_classes}, loss_weight={self.loss_weight}'
