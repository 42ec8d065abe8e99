"""Normalised (cosine) linear classifiers shared by several methods (BCL's NormedLinear, CAMC, balanced cosine)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def cosine_logits(x: torch.Tensor, weight: torch.Tensor, scale: float = 1.0, eps: float = 1e-12) -> torch.Tensor:
    """``scale * cos(x_n, w_c)`` for features ``x`` (N, d) and class weights ``weight`` (C, d) -> (N, C).

    Both the feature rows and the class rows are L2-normalised, so only directions matter (BCL stores its weight
    transposed, (d, C), and normalises columns: pass ``weight.t()``).
    """
    if x.shape[-1] != weight.shape[-1]:
        raise ValueError(f'feature dim {x.shape[-1]} does not match classifier weight dim {weight.shape[-1]}')
    return scale * F.linear(F.normalize(x, dim=-1, eps=eps), F.normalize(weight, dim=-1, eps=eps))
