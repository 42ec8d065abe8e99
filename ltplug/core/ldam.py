"""LDAM: label-distribution-aware margin loss (Cao et al., NeurIPS 2019; docs/methods.md §8.1).

Margins m_c = C / n_c^(1/4) with C chosen so that the largest margin equals ``max_m`` (0.5), and the loss
CE(s * (z - m_y e_y), y), s = 30: the true-class logit is lowered by its class margin before scaling (official
``losses.py`` of kaidic/LDAM-DRW, class ``LDAMLoss``, with ``max_m=0.5, s=30`` as ``cifar_train.py`` builds it). The
logits are expected to be cosine similarities (the official model uses ``NormedLinear`` when the loss is LDAM).
A per-class weight, as ``F.cross_entropy``'s ``weight`` (weighted mean), gives DRW. Pure torch.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ltplug.core.class_balanced import positive_counts

__all__ = ['ldam_margins', 'ldam_logits', 'ldam_loss']


def ldam_margins(class_counts, max_m: float = 0.5, where: str = 'LDAM margins') -> torch.Tensor:
    """m_c proportional to n_c^(-1/4), scaled so that max_c m_c = max_m (float32 tensor (C,))."""
    counts = positive_counts(class_counts, where)  # an empty class would get an infinite margin
    if not (np.isfinite(max_m) and max_m > 0):
        raise ValueError(f'{where}: max_m must be a positive number, got {max_m}')
    margins = counts ** -0.25
    return torch.from_numpy(margins * (float(max_m) / margins.max())).float()


def ldam_logits(logits: torch.Tensor, target: torch.Tensor, margins: torch.Tensor, scale: float = 30.0) -> torch.Tensor:
    """s * (z - m_y e_y): the true-class logit of every row minus its class margin, then scaled."""
    if logits.dim() != 2 or target.dim() != 1 or target.shape[0] != logits.shape[0]:
        raise ValueError(f'LDAM: logits must be (N, C) and targets (N,) class ids, got {tuple(logits.shape)} and '
                         f'{tuple(target.shape)}')
    if logits.shape[1] != margins.numel():
        raise ValueError(f'LDAM: the logits have {logits.shape[1]} classes but the margins {margins.numel()} '
                         '(check num_classes against the class counts)')
    margins = margins.to(device=logits.device, dtype=logits.dtype)
    shift = torch.zeros_like(logits).scatter_(1, target.long().view(-1, 1), margins[target.long()].view(-1, 1))
    return scale * (logits - shift)


def ldam_loss(logits: torch.Tensor, target: torch.Tensor, margins: torch.Tensor, scale: float = 30.0,
              class_weight: torch.Tensor | None = None, reduction: str = 'mean') -> torch.Tensor:
    """CE(s (z - m_y e_y), y, weight=class_weight) as ``F.cross_entropy`` (weighted mean: sum w_y l / sum w_y)."""
    if reduction not in ('none', 'mean', 'sum'):
        raise ValueError(f"LDAM: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    weight = None if class_weight is None else class_weight.to(device=logits.device, dtype=logits.dtype)
    return F.cross_entropy(ldam_logits(logits, target, margins, scale), target.long(), weight=weight,
                           reduction=reduction)
