"""Neighbour-silencing loss of category extrapolation (Gran_LT ``Bal_CE_loss``) as an mmpretrain loss.

The maths is :func:`ltplug.core.neighbour.neighbour_silencing_loss`; this module keeps the prior and the class-pair
mask as buffers and gets the class counts / neighbour pairs from ``CategoryExtrapolationHook`` (or its config).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from mmpretrain.models.losses.utils import weight_reduce_loss
from mmpretrain.registry import MODELS

from ltplug.core.counts import check_class_counts
from ltplug.core.neighbour import MASK_TYPES, build_neighbour_mask, log_prior, neighbour_silencing_loss


@MODELS.register_module()
class NeighbourSilencingLoss(nn.Module):
    """Logit-adjusted cross-entropy over K = targets + auxiliaries with neighbour pairs removed from the softmax.

    For a sample of class y: ``z' = z + tau * log(pi + 1e-9)`` (pi: training frequencies over all K classes); the
    classes j with M[y, j] = 0 (y's auxiliary neighbours, or the target parents of an auxiliary y) are removed from the
    softmax and their targets zeroed (not renormalised). See :mod:`ltplug.core.neighbour` and docs/methods.md §5.4.

    Args:
        num_classes: K, all classes (targets then auxiliaries).
        num_target_classes: C_tgt (only checked / reported; auxiliaries are ids >= C_tgt).
        mask_type: ``'no_fm_remove_normal_neg'`` (default, the main runs), ``'no_fm'`` (silence only pairs whose target
            has < ``few_medium_thr`` training images) or ``'unmask'`` (plain BalCE, the baseline).
        tau: ``bal_tau``, the logit-adjustment strength (1.0).
        label_smoothing: timm-style smoothing over the K classes (0.1 in the official runs, which apply it inside
            timm's Mixup; here it is applied to the hard one-hot or to the mixed scores, which is the same).
        few_medium_thr: threshold of ``no_fm`` (100).
        class_counts: training counts of the K classes (list / file); normally handed over by the hook.
        neighbour_pairs: (target, auxiliary) id pairs in the merged label space; normally handed over by the hook.
        reduction, loss_weight: as mmpretrain losses.

    The prior, the counts and the mask are persistent buffers, so a checkpoint carries them.
    """

    requires_class_counts = True

    def __init__(self, num_classes: int, num_target_classes: int | None = None,
                 mask_type: str = 'no_fm_remove_normal_neg', tau: float = 1.0, label_smoothing: float = 0.0,
                 few_medium_thr: int = 100, class_counts=None,
                 neighbour_pairs=None, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        where = 'NeighbourSilencingLoss'
        self.num_classes = int(num_classes)
        if self.num_classes < 2:
            raise ValueError(f'{where}: num_classes (K = targets + auxiliaries) must be >= 2, got {num_classes}')
        self.num_target_classes = None if num_target_classes is None else int(num_target_classes)
        if self.num_target_classes is not None and not 1 <= self.num_target_classes <= self.num_classes:
            raise ValueError(f'{where}: num_target_classes={num_target_classes} must lie in [1, num_classes='
                             f'{self.num_classes}]')
        if mask_type not in MASK_TYPES:
            raise ValueError(f'{where}: mask_type must be one of {MASK_TYPES}, got {mask_type!r}')
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'{where}: label_smoothing must lie in [0, 1), got {label_smoothing}')
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f'{where}: reduction must be mean, sum or none, got {reduction!r}')
        self.mask_type = mask_type
        self.tau = float(tau)
        self.label_smoothing = float(label_smoothing)
        self.few_medium_thr = int(few_medium_thr)
        self.reduction = reduction
        self.loss_weight = float(loss_weight)
        k = self.num_classes
        self.register_buffer('class_counts', torch.zeros(k, dtype=torch.long))
        self.register_buffer('prior', torch.zeros(k))
        self.register_buffer('keep_mask', torch.ones(k, k, dtype=torch.bool))
        self.register_buffer('ready', torch.zeros(2, dtype=torch.bool))  # (counts set, pairs set)
        self._pairs: np.ndarray | None = None
        if neighbour_pairs is not None:
            self.set_neighbour_pairs(np.asarray(neighbour_pairs, dtype=np.int64).reshape(-1, 2))
        if class_counts is not None:
            self.set_class_counts(class_counts)

    def set_class_counts(self, counts) -> None:
        """Training counts of all K classes: the log prior (taken once, from the first build of the train set)."""
        counts = check_class_counts(counts, self.num_classes, where='NeighbourSilencingLoss class_counts')
        self.class_counts.copy_(torch.as_tensor(counts, dtype=torch.long))
        self.prior.copy_(log_prior(counts).float())
        self.ready[0] = True
        self._rebuild_mask()

    def set_neighbour_pairs(self, pairs: np.ndarray) -> None:
        """(target, auxiliary) pairs in the merged label space, from the neighbour map."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if pairs.size and (pairs.min() < 0 or pairs.max() >= self.num_classes):
            raise ValueError(f'NeighbourSilencingLoss: neighbour pairs outside [0, num_classes={self.num_classes})')
        if self.num_target_classes is not None and pairs.size and (
                pairs[:, 0].max() >= self.num_target_classes or pairs[:, 1].min() < self.num_target_classes):
            raise ValueError(f'NeighbourSilencingLoss: every pair must be (target < {self.num_target_classes}, '
                             f'auxiliary >= {self.num_target_classes})')
        self._pairs = pairs
        self.ready[1] = True
        self._rebuild_mask()

    def _rebuild_mask(self) -> None:
        if self._pairs is None:
            return
        if self.mask_type == 'no_fm' and not bool(self.ready[0]):
            return  # built once the counts arrive
        counts = self.class_counts.cpu().numpy() if self.mask_type == 'no_fm' else None
        mask = build_neighbour_mask(self._pairs, self.num_classes, self.mask_type, counts, self.few_medium_thr)
        self.keep_mask.copy_(mask)

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, soft_target: torch.Tensor | None = None,
                weight: torch.Tensor | None = None, avg_factor: float | None = None,
                reduction_override: str | None = None, **kwargs) -> torch.Tensor:
        """Loss of logits (N, K) for hard labels (N,) and optional soft targets (N, K) (Mixup / CutMix scores)."""
        if label.dim() == 2 and soft_target is None:
            raise ValueError('NeighbourSilencingLoss needs the hard (pre-mixup) label of every sample to pick its mask '
                             'row, but got only soft targets; use ExtrapolationClsHead, which passes gt_label and '
                             'gt_score')
        if cls_score.shape[-1] != self.num_classes:
            raise ValueError(f'NeighbourSilencingLoss: the head outputs {cls_score.shape[-1]} logits but num_classes='
                             f'{self.num_classes} (targets + auxiliaries)')
        if not bool(self.ready[0]):
            raise ValueError('NeighbourSilencingLoss has no class counts: add CategoryExtrapolationHook to '
                             'custom_hooks (it reads the train set) or give class_counts= in the loss config')
        if not bool(self.ready[1]) and self.mask_type != 'unmask':
            raise ValueError('NeighbourSilencingLoss has no neighbour pairs: add CategoryExtrapolationHook to '
                             'custom_hooks (it reads the neighbour map of the train set) or give neighbour_pairs=')
        if not torch.isfinite(cls_score).all():
            raise ValueError('NeighbourSilencingLoss: the logits contain NaN/inf values')
        label = label.reshape(-1).long()
        if label.numel() and (label.min() < 0 or label.max() >= self.num_classes):
            raise ValueError(f'NeighbourSilencingLoss: labels must lie in [0, {self.num_classes}), got '
                             f'[{int(label.min())}, {int(label.max())}]')
        loss = neighbour_silencing_loss(cls_score, label, self.keep_mask, self.prior, self.tau, soft_target,
                                        self.label_smoothing)
        reduction = reduction_override or self.reduction
        if weight is not None:
            weight = weight.float()
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, num_target_classes={self.num_target_classes}, '
                f'mask_type={self.mask_type!r}, tau={self.tau}, label_smoothing={self.label_smoothing}')
