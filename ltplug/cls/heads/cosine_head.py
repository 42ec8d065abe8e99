"""``CosineClsHead``: the normalised, scaled classifier of BCL (official ``NormedLinear``, s = 30).

logits_c = s * cos(x, w_c): the pooled feature and every class weight are L2-normalised, so only directions matter.
As in ``NormedLinear`` the weight is stored as (in_channels, num_classes) and normalised over its class *columns*, and
it is initialised uniform(-1, 1) with each column rescaled to unit norm; the state-dict key is ``weight``.
``class_weights`` gives the raw (unnormalised) class vectors as rows, (num_classes, in_channels): BCL's prototypes and
CAM-style uses.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS

from ltplug.core.linear import cosine_logits
from ltplug.utils import check_checkpoint_shapes


@MODELS.register_module()
class CosineClsHead(ClsHead):
    """Cosine classifier head: ``scale * normalise(x) . normalise(W[:, c])`` (no bias).

    Args:
        num_classes: number of classes.
        in_channels: feature dimension.
        scale: the logit scale s (30 in BCL).
        loss, topk, cal_acc, init_cfg: as mmpretrain's ``ClsHead`` (BCL uses ``dict(type='LogitAdjustedLoss')``).
    """

    def __init__(self, num_classes: int, in_channels: int, scale: float = 30.0, init_cfg: dict | None = None,
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg, **kwargs)
        if int(num_classes) < 1:
            raise ValueError(f'CosineClsHead: num_classes must be >= 1 (head.num_classes), got {num_classes}')
        if int(in_channels) < 1:
            raise ValueError(f'CosineClsHead: in_channels must be >= 1 (head.in_channels), got {in_channels}')
        if not float(scale) > 0:
            raise ValueError(f'CosineClsHead: scale must be > 0 (head.scale), got {scale}')
        self.num_classes = int(num_classes)
        self.in_channels = int(in_channels)
        self.scale = float(scale)
        self.weight = nn.Parameter(torch.empty(self.in_channels, self.num_classes))
        self.reset_parameters()
        # a loss that needs class counts learns num_classes from its head, so ClassCountsHook checks the size
        if hasattr(self.loss_module, 'set_class_counts') and getattr(self.loss_module, 'num_classes', 0) is None:
            self.loss_module.num_classes = self.num_classes

    def reset_parameters(self) -> None:
        """NormedLinear init: uniform(-1, 1), then every class column rescaled to unit L2 norm."""
        with torch.no_grad():
            self.weight.uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)

    @property
    def class_weights(self) -> torch.Tensor:
        """The raw class vectors as rows, (num_classes, in_channels) (a view of the parameter: gradients flow)."""
        return self.weight.t()

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Scaled cosine logits (N, num_classes) of the last-stage feature."""
        x = self.pre_logits(feats)
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'CosineClsHead: expected pooled features (N, {self.in_channels}), got shape '
                             f'{tuple(x.shape)}; is a GlobalAveragePooling neck configured and in_channels right?')
        return cosine_logits(x, self.class_weights, scale=self.scale)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        check_checkpoint_shapes(self, state_dict, prefix, {'weight': (self.in_channels, self.num_classes)},
                                f'(model.head.in_channels, num_classes) = ({self.in_channels}, {self.num_classes})')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return f'in_channels={self.in_channels}, num_classes={self.num_classes}, scale={self.scale}'
