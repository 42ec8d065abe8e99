"""tau-normalised bbox classifier (Kang et al., ICLR 2020; docs/methods.md §4.3) for bbox heads with a background class.

``TauNormBBoxClassifier`` is a drop-in ``fc_cls`` (``cls_predictor_cfg=dict(type='TauNormBBoxClassifier', tau=...)``):
an ``nn.Linear(d, C + 1)`` with the same parameters, init and state-dict keys as the stock one, so it trains exactly
like the stock head and a stock checkpoint loads into it. In eval mode the foreground rows are tau-normalised post hoc,
w~_c = w_c / ||w_c||^tau (``ltplug.core.decoupled.tau_normalize_weight``). The classification recipe drops the bias and
has no background; the choices for detection (ours, documented in ``configs/vmf_lvis/README.md``):

* the background row and bias are left as trained;
* ``rescale=True`` (default) multiplies the normalised foreground rows by mean_c ||w_c||^tau, so the average foreground
  logit scale, hence the learned foreground-vs-background balance, is unchanged (tau only re-balances the classes among
  themselves; a global factor would otherwise shift every detection towards or away from background);
* ``fg_bias``: 'mean' (default: every foreground bias replaced by their mean, removing the per-class frequency part
  while keeping the average foreground offset), 'drop' (Kang's classification rule) or 'keep'.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS

from ltplug.core.decoupled import tau_normalize_weight

FG_BIAS = ('mean', 'drop', 'keep')


@MODELS.register_module()
class TauNormBBoxClassifier(nn.Linear):
    """Linear (C + 1)-way bbox classifier whose foreground rows are tau-normalised at test time (see module doc)."""

    def __init__(self, in_features: int, out_features: int, tau: float = 1.0, rescale: bool = True,
                 fg_bias: str = 'mean') -> None:
        super().__init__(in_features, out_features)
        if out_features < 2:
            raise ValueError(f'TauNormBBoxClassifier: out_features must be num_classes + 1 >= 2, got {out_features}')
        if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau >= 0):
            raise ValueError(f'TauNormBBoxClassifier: tau must be a finite number >= 0, got {tau!r}')
        if fg_bias not in FG_BIAS:
            raise ValueError(f'TauNormBBoxClassifier: fg_bias must be one of {FG_BIAS}, got {fg_bias!r}')
        self.tau = float(tau)
        self.rescale = bool(rescale)
        self.fg_bias = fg_bias

    def extra_repr(self) -> str:
        return f'{super().extra_repr()}, tau={self.tau}, rescale={self.rescale}, fg_bias={self.fg_bias!r}'

    def normalized_parameters(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The (weight, bias) used at test time."""
        w_fg, w_bg = self.weight[:-1], self.weight[-1:]
        w = tau_normalize_weight(w_fg, self.tau)
        if self.rescale:
            w = w * w_fg.norm(p=2, dim=1).pow(self.tau).mean()
        weight = torch.cat([w, w_bg], dim=0)
        b_fg, b_bg = self.bias[:-1], self.bias[-1:]
        if self.fg_bias == 'mean':
            b_fg = b_fg.mean().expand_as(b_fg)
        elif self.fg_bias == 'drop':
            b_fg = torch.zeros_like(b_fg)
        return weight, torch.cat([b_fg, b_bg])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return super().forward(x)
        return F.linear(x, *self.normalized_parameters())
