"""Category extrapolation head: trains over targets + auxiliary neighbours, predicts over the targets only.

Official behaviour (Gran_LT ``engine_finetune.evaluate``, docs/methods.md §5.3): at inference the classifier rows are
re-indexed to the target classes, i.e. the auxiliary rows are dropped; the argmax runs over the target classes only and
no prior is added. This head always does that, so predictions, scores and metrics cover the C_tgt target classes
(unlike the official stand-alone ``--eval`` path, which takes the argmax over all K outputs).

The official ``clswarm`` (only the head trains during the first epochs) is ``FreezeModulesHook(epochs=...)``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.cls.losses.neighbour_silencing import NeighbourSilencingLoss


@MODELS.register_module()
class ExtrapolationClsHead(LinearClsHead):
    """Linear classifier over K = C_tgt + C_aux classes whose predictions only cover the C_tgt target classes.

    Training: logits over all K classes; with ``NeighbourSilencingLoss`` the hard label (``gt_label``, the pre-mixup
    label) and the soft scores (``gt_score`` from Mixup/CutMix, if any) are both passed to the loss. Any other
    mmpretrain loss gets the usual ``gt_score``-or-``gt_label`` target.
    Prediction: the first ``num_target_classes`` logits only (the auxiliary rows are dropped, no prior), softmax and
    argmax over them, so a prediction never lands on an auxiliary class.

    Args:
        num_classes: K, all classes (targets first, auxiliaries after them).
        num_target_classes: C_tgt.
        in_channels: feature dimension (the pooled feature, e.g. from ``GlobalAveragePooling``).
        pre_norm: ``'bn'`` puts ``BatchNorm1d(affine=False, eps=1e-6)`` before the linear layer (the official ViT
            ``fc_norm`` of the global-pool runs); None (default) feeds the feature as is.
        loss: default ``NeighbourSilencingLoss``; its ``num_classes`` / ``num_target_classes`` are filled in.
        init_std: without ``init_cfg``, the linear layer gets ``TruncNormal(std=init_std)`` weights and a zero bias
            (the official head init, std 2e-5); None keeps PyTorch's default ``nn.Linear`` init.
        init_cfg: an explicit mmengine init config (overrides ``init_std``).
    """

    def __init__(self, num_classes: int, num_target_classes: int, in_channels: int, pre_norm: str | None = None,
                 loss: dict | nn.Module | None = None, init_std: float | None = 2e-5, init_cfg: dict | None = None,
                 **kwargs) -> None:
        if loss is None:
            loss = dict(type='NeighbourSilencingLoss')
        if init_cfg is None and init_std is not None:
            init_cfg = dict(type='TruncNormal', layer='Linear', std=float(init_std), bias=0.0)
        num_classes, num_target_classes = int(num_classes), int(num_target_classes)
        if not 1 <= num_target_classes < num_classes:
            raise ValueError(f'ExtrapolationClsHead: num_target_classes={num_target_classes} must lie in [1, '
                             f'num_classes={num_classes}) (num_classes counts targets + auxiliary classes)')
        if isinstance(loss, dict) and loss.get('type') in ('NeighbourSilencingLoss', NeighbourSilencingLoss):
            loss = dict(loss)
            for key, value in (('num_classes', num_classes), ('num_target_classes', num_target_classes)):
                if loss.setdefault(key, value) != value:
                    raise ValueError(f'ExtrapolationClsHead: model.head.loss.{key}={loss[key]} differs from the '
                                     f"head's {key}={value}")
        super().__init__(num_classes=num_classes, in_channels=in_channels, loss=loss, init_cfg=init_cfg, **kwargs)
        self.num_target_classes = num_target_classes
        if pre_norm not in (None, 'bn'):
            raise ValueError(f"ExtrapolationClsHead: pre_norm must be None or 'bn', got {pre_norm!r}")
        self.pre_norm = None if pre_norm is None else nn.BatchNorm1d(in_channels, affine=False, eps=1e-6)

    def pre_logits(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'ExtrapolationClsHead expects pooled features (N, in_channels={self.in_channels}), got '
                             f'shape {tuple(x.shape)} (add a GlobalAveragePooling neck, or fix in_channels)')
        return x if self.pre_norm is None else self.pre_norm(x)

    def target_logits(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Logits of the target classes only (the auxiliary rows dropped, no prior): (N, C_tgt)."""
        x = self.pre_logits(feats)
        return nn.functional.linear(x, self.fc.weight[:self.num_target_classes],
                                    self.fc.bias[:self.num_target_classes])

    def loss(self, feats: tuple[torch.Tensor, ...], data_samples: list[DataSample], **kwargs) -> dict:
        cls_score = self(feats)
        if not isinstance(self.loss_module, NeighbourSilencingLoss):
            return self._get_loss(cls_score, data_samples, **kwargs)
        labels = torch.cat([s.gt_label for s in data_samples]).to(cls_score.device)
        if labels.numel() != cls_score.shape[0]:
            raise ValueError(f'ExtrapolationClsHead: {labels.numel()} labels for {cls_score.shape[0]} samples')
        soft = torch.stack([s.gt_score for s in data_samples]) if 'gt_score' in data_samples[0] else None
        loss = self.loss_module(cls_score, labels, soft_target=soft, avg_factor=cls_score.size(0), **kwargs)
        return dict(loss=loss)

    def predict(self, feats: tuple[torch.Tensor, ...],
                data_samples: list[DataSample | None] | None = None) -> list[DataSample]:
        """Scores and labels over the C_tgt target classes only."""
        c = self.num_target_classes
        for sample in data_samples or ():
            # with batch augments the data preprocessor also one-hot encodes evaluation labels over all K classes;
            # evaluation is over the targets, so the sample is re-sized to C_tgt (a target label's one-hot is the
            # first C_tgt entries)
            if sample is not None and sample.get('num_classes', c) != c:
                score = sample.get('gt_score')
                sample.set_metainfo(dict(num_classes=c))
                if score is not None:
                    sample.set_gt_score(score[:c])
        return self._get_predictions(self.target_logits(feats), data_samples)

    def extra_repr(self) -> str:
        return f'num_target_classes={self.num_target_classes}'
