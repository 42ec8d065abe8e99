"""CAM-calibrated normalised classifier head (CAMC, arXiv 2108.12757), a labelled reconstruction [INFER].

The paper's code and full text were not available (docs/methods.md §2); the reconstructed maths is documented in
:mod:`ltplug.core.cam`, here and in ``configs/camc/README.md``. Its choices are fixed (one documented path); the
switches are the cosine scale and ``use_cam`` (the documented ablation).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_reduce, get_world_size
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.core.cam import attention_pool, calibrated_weights, class_feature_sums, update_prototypes
from ltplug.core.linear import cosine_logits

# The reconstruction's fixed choices (docs/methods.md §2; configs/camc/README.md).
CALIB_WEIGHT = 0.5  # beta: (1 - beta) min-max CAM + beta min-max prototype map
PROTO_MOMENTUM = 0.9  # prototype EMA


@MODELS.register_module()
class CAMCalibratedClsHead(ClsHead):
    """Class-activation-map calibration + normalised (cosine) classifier, on the spatial map before pooling.

    The head receives the backbone's last stage output (N, d, H, W), so configs use ``neck=None``. For each image it
    picks a class (its ground truth in training, the top-1 class of the uncalibrated GAP classifier at prediction),
    builds its CAM from the classifier row, calibrates it with the class prototype (a running mean of training
    features, the "across data" part), turns the calibrated map into spatial pooling weights, pools (plus GAP), and
    classifies with ``scale * cos(w_c, f)``. The same re-weighting runs in training and at prediction. Prototypes are
    the EMA (momentum 0.9) of the L2-normalised GAP features of each class; they are buffers (saved in checkpoints),
    updated only in ``loss()`` in training mode, and summed over ranks under distributed training.

    Args:
        num_classes: number of classes C.
        in_channels: channels d of the feature map.
        scale: the scalar s multiplying the cosine logits (16 in the OLTR/decoupling ImageNet-LT family, 30 otherwise;
            the paper's value is unknown).
        use_cam: False turns the module off (plain GAP + scaled cosine classifier, in training and at prediction; the
            prototypes are still tracked): the ablation baseline of the same head.
        loss: the classification loss on the scaled cosine logits (default cross-entropy).
    """

    def __init__(self, num_classes: int, in_channels: int, scale: float = 16.0, use_cam: bool = True,
                 loss: dict | nn.Module | None = None, init_cfg: dict | None = None, **kwargs) -> None:
        if loss is None:
            loss = dict(type='CrossEntropyLoss', loss_weight=1.0)
        super().__init__(loss=loss, init_cfg=init_cfg, **kwargs)
        where = 'CAMCalibratedClsHead: model.head'
        for key, value in (('num_classes', num_classes), ('in_channels', in_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'{where}.{key} must be an integer >= 1, got {value!r}')
        if not float(scale) > 0:
            raise ValueError(f'{where}.scale must be > 0, got {scale}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.scale = float(scale)
        self.use_cam = bool(use_cam)
        self.fc = nn.Linear(self.in_channels, self.num_classes, bias=False)
        self.register_buffer('prototypes', torch.zeros(self.num_classes, self.in_channels))
        self.register_buffer('proto_count', torch.zeros(self.num_classes))

    # ---- pieces --------------------------------------------------------------------------------------------------
    def _fmap(self, feats: tuple[torch.Tensor, ...] | torch.Tensor) -> torch.Tensor:
        fmap = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if fmap.dim() != 4:
            raise ValueError(f'CAMCalibratedClsHead needs the spatial feature map (N, d, H, W) before pooling, got '
                             f'shape {tuple(fmap.shape)}: set model.neck=None so the backbone output reaches the head')
        if fmap.shape[1] != self.in_channels:
            raise ValueError(f'CAMCalibratedClsHead: the feature map has {fmap.shape[1]} channels but '
                             f'model.head.in_channels={self.in_channels}')
        # NaN / inf survive a sum, which is ~25x cheaper than an elementwise check of the whole map
        if not torch.isfinite(fmap.sum(dim=(2, 3), dtype=torch.float32)).all():
            raise ValueError('CAMCalibratedClsHead: the backbone feature map contains NaN/inf values')
        return fmap

    def gap_logits(self, fmap: torch.Tensor) -> torch.Tensor:
        """Scaled cosine logits of the plain global-average-pooled feature (used to pick the top-1 class)."""
        return cosine_logits(fmap.mean(dim=(2, 3)), self.fc.weight, self.scale)

    def pool(self, fmap: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """The calibrated-map-weighted pooled feature plus GAP (N, d) for the given classes (N, 1)."""
        attn = calibrated_weights(fmap, classes, self.fc.weight, self.prototypes, self.proto_count > 0, CALIB_WEIGHT)
        return attention_pool(fmap, attn)

    def predicted_classes(self, fmap: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.gap_logits(fmap).argmax(dim=-1, keepdim=True)

    # ---- mmpretrain API ------------------------------------------------------------------------------------------
    def pre_logits(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The pooled feature used for prediction: calibrated with the top-1 predicted class (or GAP)."""
        fmap = self._fmap(feats)
        if not self.use_cam:
            return fmap.mean(dim=(2, 3))
        return self.pool(fmap, self.predicted_classes(fmap))

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Prediction logits ``scale * cos(w_c, f)`` (C columns)."""
        return cosine_logits(self.pre_logits(feats), self.fc.weight, self.scale)

    def loss(self, feats: tuple[torch.Tensor, ...], data_samples: list[DataSample], **kwargs) -> dict:
        """Loss with the training-time map (ground-truth class); updates the prototypes afterwards."""
        fmap = self._fmap(feats)
        labels = torch.cat([s.gt_label for s in data_samples]).to(fmap.device).long()
        if labels.numel() != fmap.shape[0]:
            raise ValueError(f'CAMCalibratedClsHead: {labels.numel()} labels for {fmap.shape[0]} images (one '
                             'gt_label per sample is needed, also with Mixup/CutMix: the pre-mixing label)')
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f'CAMCalibratedClsHead: labels must lie in [0, model.head.num_classes='
                             f'{self.num_classes}), got [{int(labels.min())}, {int(labels.max())}]')
        pooled = self.pool(fmap, labels[:, None]) if self.use_cam else fmap.mean(dim=(2, 3))
        cls_score = cosine_logits(pooled, self.fc.weight, self.scale)
        losses = self._get_loss(cls_score, data_samples, **kwargs)
        if self.training:
            self.update_prototypes(fmap.detach().mean(dim=(2, 3)), labels)
        return losses

    @torch.no_grad()
    def update_prototypes(self, pooled: torch.Tensor, labels: torch.Tensor) -> None:
        """Fold a batch of GAP features (N, d) into the class prototypes (summed over ranks when distributed)."""
        sums, counts = class_feature_sums(F.normalize(pooled.float(), dim=-1), labels, self.num_classes)
        if get_world_size() > 1:
            all_reduce(sums, op='sum')
            all_reduce(counts, op='sum')
        protos, seen = update_prototypes(self.prototypes.float(), self.proto_count.float(), sums, counts,
                                         PROTO_MOMENTUM)
        self.prototypes.copy_(protos)
        self.proto_count.copy_(seen)

    def extra_repr(self) -> str:
        return f'scale={self.scale}, use_cam={self.use_cam}'
