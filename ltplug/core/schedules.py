"""Closed-form per-epoch learning-rate schedules of the official long-tailed code bases (docs/methods.md §0.4).

- OLTR-style cosine (classifier-balancing, vMF-OP): ``scheduler.step()`` runs at the *start* of every epoch, so 0-based
  epoch e trains at eta_min + (lr0 - eta_min) / 2 * (1 + cos(pi * (e + 1) / T)); lr0 itself is never used and the last
  epoch (e = T - 1) runs at eta_min.
- BCL ``adjust_lr``: a linear warm-up lr0 * (e + 1) / W for e < W, then
  lr0 / 2 * (1 + cos(pi * (e - W + 1) / (E - W + 1))); it never reaches 0 and never uses lr0 itself after the warm-up.
"""
from __future__ import annotations

import math


def oltr_cosine_lr(epoch: int, base_lr: float, num_epochs: int, eta_min: float = 0.0) -> float:
    """lr of 0-based ``epoch`` under the one-epoch-offset per-epoch cosine (T = ``num_epochs``)."""
    if num_epochs < 1:
        raise ValueError(f'num_epochs (T) must be >= 1, got {num_epochs}')
    return eta_min + (base_lr - eta_min) * 0.5 * (1.0 + math.cos(math.pi * (epoch + 1) / num_epochs))


def bcl_lr(epoch: int, base_lr: float, num_epochs: int, warmup_epochs: int = 0) -> float:
    """lr of 0-based ``epoch`` under BCL's ``adjust_lr`` (E = ``num_epochs``, W = ``warmup_epochs``)."""
    if warmup_epochs < 0:
        raise ValueError(f'warmup_epochs must be >= 0, got {warmup_epochs}')
    if num_epochs - warmup_epochs + 1 <= 0:
        raise ValueError(f'num_epochs ({num_epochs}) must be >= warmup_epochs ({warmup_epochs})')
    if epoch < warmup_epochs:
        return base_lr / warmup_epochs * (epoch + 1)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup_epochs + 1) / (num_epochs - warmup_epochs + 1)))
