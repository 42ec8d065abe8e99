"""``LDAMLoss``: label-distribution-aware margin loss for any mmpretrain ``ClsHead`` (Cao et al., NeurIPS 2019).

    head=dict(type='CosineClsHead', num_classes=10, in_channels=64, scale=30.0,
              loss=dict(type='LDAMLoss', max_m=0.5, scale=30.0, input_scaled=True))

Margins m_c proportional to n_c^(-1/4) with max margin ``max_m`` and logit scale ``scale`` (0.5 and 30 in the official
kaidic/LDAM-DRW code). The official model feeds *cosine* logits (``NormedLinear``) and the loss scales them:
s * (cos - m_y e_y). With ``input_scaled=True`` the head already outputs s * cos (``CosineClsHead(scale=30)``, whose
softmax then gives usable probabilities at test time) and the loss subtracts s * m_y instead: the same loss value.
Class counts come from ``class_counts=`` or ``ClassCountsHook``; ``class_weight`` (set by ``DeferredReweightingHook``
for DRW) weights the loss as ``F.cross_entropy``'s ``weight`` does in the official code (weighted mean). The margins
only exist inside the loss: prediction uses the head's plain logits. Maths in :mod:`ltplug.core.ldam`;
conventions and choices: docs/methods.md §8.1.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from ltplug.core.counts import ClassCountsError, check_class_counts, load_class_counts
from ltplug.core.ldam import ldam_logits, ldam_margins


@MODELS.register_module()
class LDAMLoss(nn.Module):
    """CE(s (z - m_y e_y), y) with m_c = max_m * (min_k n_k / n_c)^(1/4).

    Args:
        max_m: the largest margin (that of the rarest class); 0.5 officially.
        scale: the logit scale s; 30 officially.
        input_scaled: the logits already carry the scale s (e.g. ``CosineClsHead(scale=s)``); default False (the
            official split: a cosine head with scale 1 and the loss multiplies by s).
        num_classes: checked against the class counts; default: from the counts.
        class_counts: training images per class (list or class-count file); otherwise set by ``ClassCountsHook``.
        class_weight: per-class weights (None = unweighted); ``DeferredReweightingHook`` sets them for DRW.
        loss_weight: multiplier of the loss.
        reduction: 'mean' (weighted mean, as ``F.cross_entropy``), 'sum' or 'none'.
    """

    requires_class_counts = True

    def __init__(self, max_m: float = 0.5, scale: float = 30.0, input_scaled: bool = False,
                 num_classes: int | None = None, class_counts=None, class_weight: list[float] | None = None,
                 loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__()
        if not (math.isfinite(float(max_m)) and float(max_m) > 0):
            raise ValueError(f'LDAMLoss: max_m must be a positive number (loss.max_m), got {max_m}')
        if not (math.isfinite(float(scale)) and float(scale) > 0):
            raise ValueError(f'LDAMLoss: scale must be a positive number (loss.scale), got {scale}')
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"LDAMLoss: reduction must be 'none', 'mean' or 'sum' (loss.reduction), got {reduction!r}")
        self.max_m = float(max_m)
        self.scale = float(scale)
        self.input_scaled = bool(input_scaled)
        self.num_classes = None if num_classes is None else int(num_classes)
        self.class_weight = None if class_weight is None else [float(w) for w in class_weight]
        self.loss_weight = float(loss_weight)
        self.reduction = reduction
        # not persistent: recomputed from the counts at every run start, so checkpoints stay loss-agnostic
        self.register_buffer('margins', torch.zeros(0), persistent=False)
        if class_counts is not None:
            self.set_class_counts(load_class_counts(class_counts))

    def set_class_counts(self, counts: np.ndarray) -> None:
        """Training images per class -> the margins (an empty class is an error: its margin is infinite)."""
        counts = check_class_counts(counts, self.num_classes, where='LDAMLoss class counts')
        self.margins = ldam_margins(counts, self.max_m, where='LDAMLoss class counts').to(self.margins.device)
        if self.num_classes is None:
            self.num_classes = int(counts.size)

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None,
                avg_factor: float | None = None, reduction_override: str | None = None, **kwargs) -> torch.Tensor:
        """Loss of the logits (N, C) for class-id labels (N,); ``weight`` is an optional per-sample weight."""
        if self.margins.numel() == 0:
            raise ClassCountsError("LDAMLoss needs the per-class training counts: add dict(type='ClassCountsHook') to "
                                   "custom_hooks, or give loss=dict(type='LDAMLoss', class_counts=[...] or a file)")
        if label.dim() != 1:
            raise ValueError(f'LDAMLoss needs class-id labels (N,), got shape {tuple(label.shape)} (mixup / cutmix '
                             'soft targets are not supported by the margin)')
        reduction = reduction_override or self.reduction
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"LDAMLoss: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
        if self.input_scaled:  # z = s cos: s (cos - m) = z - s m
            logits = ldam_logits(cls_score, label, self.margins * self.scale, 1.0)
        else:
            logits = ldam_logits(cls_score, label, self.margins, self.scale)
        loss = torch.nn.functional.cross_entropy(logits, label.long(), reduction='none')
        sample_w = torch.ones_like(loss)
        if self.class_weight is not None:
            if len(self.class_weight) != cls_score.shape[1]:
                raise ValueError(f'LDAMLoss: class_weight has {len(self.class_weight)} entries for '
                                 f'{cls_score.shape[1]} classes')
            sample_w = cls_score.new_tensor(self.class_weight)[label.long()]
        if weight is not None:
            sample_w = sample_w * weight.to(loss.dtype).reshape(-1)
        loss = loss * sample_w
        if reduction == 'mean':  # F.cross_entropy(weight=...)'s weighted mean; avg_factor is not used
            loss = loss.sum() / sample_w.sum()
        elif reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'max_m={self.max_m}, scale={self.scale}, input_scaled={self.input_scaled}'
