"""``BCLLoss``: the balanced contrastive loss of BCL as an mmpretrain loss module (maths in :mod:`ltplug.core.bcl`)."""
from __future__ import annotations

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from ltplug.core.bcl import bcl_loss


@MODELS.register_module()
class BCLLoss(nn.Module):
    """Class-averaged, class-complemented supervised contrastive loss (Zhu et al., CVPR 2022; official ``BalSCL``).

    Args:
        temperature: tau of the logits z_i . k_j / tau (0.07 on ImageNet-LT / iNat).
        loss_weight: multiplier of the loss (beta of the BCL total loss, 0.35 on ImageNet-LT / iNat).
    """

    def __init__(self, temperature: float = 0.07, loss_weight: float = 1.0) -> None:
        super().__init__()
        if not float(temperature) > 0:
            raise ValueError(f'BCLLoss: temperature must be > 0 (temperature), got {temperature}')
        self.temperature = float(temperature)
        self.loss_weight = float(loss_weight)

    def forward(self, features: torch.Tensor, labels: torch.Tensor, prototypes: torch.Tensor,
                anchor_index: torch.Tensor | None = None) -> torch.Tensor:
        """``loss_weight`` * BCL of the views ``features`` (N, D) with ``labels`` (N,) and ``prototypes`` (C, D).

        ``features`` and ``prototypes`` are expected L2-normalised (BCL normalises both projections). ``anchor_index``
        restricts the anchors to those rows (all views stay keys); see :func:`ltplug.core.bcl.bcl_loss`.
        """
        return self.loss_weight * bcl_loss(features, labels, prototypes, self.temperature, anchor_index=anchor_index)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, loss_weight={self.loss_weight}'
