"""CAM-calibrated normalised classifier head (CAMC, arXiv 2108.12757), a labelled reconstruction [INFER].

The paper's code and full text were not available (METHODS.md §2); the maths and every switch are documented in
:mod:`ltplug.core.cam`, here and in ``configs/camc/README.md``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_reduce, get_world_size
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.core.cam import (
    NORM_MODES,
    attention_pool,
    calibrated_weights,
    class_feature_sums,
    select_classes,
    update_prototypes,
)
from ltplug.core.linear import cosine_logits

TRAIN_CAM_CLASSES = ('gt', 'pred')


@MODELS.register_module()
class CAMCalibratedClsHead(ClsHead):
    """Class-activation-map calibration + normalised (cosine) classifier, on the spatial map before pooling.

    The head receives the backbone's last stage output (N, d, H, W), so configs use ``neck=None``. For each image it
    picks classes, builds their CAMs from the classifier rows, calibrates them with class prototypes (running means of
    training features, the "across data" part), turns the calibrated map into spatial pooling weights, pools, and
    classifies with ``scale * cos(w_c, f)``. The same re-weighting runs in training and at prediction.

    Choices the paper leaves open (all reconstructed, [INFER]):

    Args:
        num_classes: number of classes C.
        in_channels: channels d of the feature map.
        scale: the scalar s multiplying the cosine logits (16 in the OLTR/decoupling ImageNet-LT family, 30 otherwise;
            the paper's value is unknown).
        train_cam_class: whose map re-weights a *training* image: ``'gt'`` (its ground-truth class, default) or
            ``'pred'`` (the ``pred_topk`` classes predicted by the uncalibrated GAP classifier).
        pred_topk: at prediction (and with ``train_cam_class='pred'``) the maps of the top-k classes predicted by the
            uncalibrated GAP classifier are averaged (default 1).
        norm: normalisation of each map over locations: ``'minmax'`` (default, to [0, 1]) or ``'softmax'``.
        temperature: softmax temperature, relative to the image's mean feature norm (used with ``norm='softmax'``).
        calib_weight: beta in ``(1 - beta) * norm(CAM) + beta * norm(prototype map)``: 0 = plain CAM (no calibration
            across data), 1 = prototype correlation only; default 0.5. Classes without a prototype use the CAM alone.
        residual: add ``GAP(F)`` to the re-weighted feature (default True); False pools with the map alone.
        momentum: prototype update ``p <- m p + (1 - m) batch_mean`` (default 0.9); ``None`` keeps the exact
            cumulative mean of all training features seen. Prototypes are the means of the L2-normalised GAP features
            of each class; they are buffers (saved in checkpoints), updated only in ``loss()`` in training mode, and
            summed over ranks under distributed training.
        calibrate_at_test: re-weight at prediction too (default True, as the abstract states); False predicts from
            GAP features (an ablation).
        detach_map: compute the pooling weights without gradient (default False: the map is differentiable).
        use_cam: False turns the module off (plain GAP + scaled cosine classifier, in training and at prediction; the
            prototypes are still tracked): the ablation baseline of the same head.
        loss: the classification loss on the scaled cosine logits (default cross-entropy).
    """

    def __init__(self, num_classes: int, in_channels: int, scale: float = 16.0, train_cam_class: str = 'gt',
                 pred_topk: int = 1, norm: str = 'minmax', temperature: float = 0.1, calib_weight: float = 0.5,
                 residual: bool = True, momentum: float | None = 0.9, calibrate_at_test: bool = True,
                 detach_map: bool = False, use_cam: bool = True, loss: dict | nn.Module | None = None,
                 init_cfg: dict | None = None, **kwargs) -> None:
        if loss is None:
            loss = dict(type='CrossEntropyLoss', loss_weight=1.0)
        super().__init__(loss=loss, init_cfg=init_cfg, **kwargs)
        where = 'CAMCalibratedClsHead'
        if int(num_classes) < 1 or int(in_channels) < 1:
            raise ValueError(f'{where}: num_classes and in_channels must be >= 1, got {num_classes}, {in_channels}')
        if train_cam_class not in TRAIN_CAM_CLASSES:
            raise ValueError(f'{where}: train_cam_class must be one of {TRAIN_CAM_CLASSES}, got {train_cam_class!r}')
        if norm not in NORM_MODES:
            raise ValueError(f'{where}: norm must be one of {NORM_MODES}, got {norm!r}')
        if not 1 <= int(pred_topk) <= int(num_classes):
            raise ValueError(f'{where}: pred_topk must lie in [1, num_classes={num_classes}], got {pred_topk}')
        if not 0.0 <= float(calib_weight) <= 1.0:
            raise ValueError(f'{where}: calib_weight must lie in [0, 1], got {calib_weight}')
        if momentum is not None and not 0.0 <= float(momentum) < 1.0:
            raise ValueError(f'{where}: momentum must lie in [0, 1) or be None (cumulative mean), got {momentum}')
        if not float(scale) > 0 or not float(temperature) > 0:
            raise ValueError(f'{where}: scale and temperature must be > 0, got {scale}, {temperature}')
        self.num_classes = int(num_classes)
        self.in_channels = int(in_channels)
        self.scale = float(scale)
        self.train_cam_class = train_cam_class
        self.pred_topk = int(pred_topk)
        self.norm = norm
        self.temperature = float(temperature)
        self.calib_weight = float(calib_weight)
        self.residual = bool(residual)
        self.momentum = None if momentum is None else float(momentum)
        self.calibrate_at_test = bool(calibrate_at_test)
        self.detach_map = bool(detach_map)
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
        """Scaled cosine logits of the plain global-average-pooled feature (used to pick the top-k classes)."""
        return cosine_logits(fmap.mean(dim=(2, 3)), self.fc.weight, self.scale)

    def pool(self, fmap: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """The calibrated-map-weighted pooled feature (N, d) for the given classes (N, k)."""
        valid = self.proto_count > 0
        src, weight, protos = fmap, self.fc.weight, self.prototypes
        if self.detach_map:
            src, weight = fmap.detach(), weight.detach()
        attn = calibrated_weights(src, classes, weight, protos, valid, self.calib_weight, self.norm, self.temperature)
        return attention_pool(fmap, attn, self.residual)

    def predicted_classes(self, fmap: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return select_classes(self.gap_logits(fmap), k=self.pred_topk)

    # ---- mmpretrain API ------------------------------------------------------------------------------------------
    def pre_logits(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The pooled feature used for prediction: calibrated with the top-k predicted classes (or GAP)."""
        fmap = self._fmap(feats)
        if not (self.calibrate_at_test and self.use_cam):
            return fmap.mean(dim=(2, 3))
        return self.pool(fmap, self.predicted_classes(fmap))

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Prediction logits ``scale * cos(w_c, f)`` (C columns)."""
        return cosine_logits(self.pre_logits(feats), self.fc.weight, self.scale)

    def loss(self, feats: tuple[torch.Tensor, ...], data_samples: list[DataSample], **kwargs) -> dict:
        """Loss with the training-time map (ground truth or predicted classes); updates the prototypes afterwards."""
        fmap = self._fmap(feats)
        labels = torch.cat([s.gt_label for s in data_samples]).to(fmap.device).long()
        if labels.numel() != fmap.shape[0]:
            raise ValueError(f'CAMCalibratedClsHead: {labels.numel()} labels for {fmap.shape[0]} images (one '
                             'gt_label per sample is needed, also with Mixup/CutMix: the pre-mixing label)')
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f'CAMCalibratedClsHead: labels must lie in [0, model.head.num_classes='
                             f'{self.num_classes}), got [{int(labels.min())}, {int(labels.max())}]')
        if not self.use_cam:
            pooled = fmap.mean(dim=(2, 3))
        else:
            classes = labels[:, None] if self.train_cam_class == 'gt' else self.predicted_classes(fmap)
            pooled = self.pool(fmap, classes)
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
                                         self.momentum)
        self.prototypes.copy_(protos)
        self.proto_count.copy_(seen)

    def extra_repr(self) -> str:
        return (f'scale={self.scale}, train_cam_class={self.train_cam_class!r}, pred_topk={self.pred_topk}, '
                f'norm={self.norm!r}, calib_weight={self.calib_weight}, residual={self.residual}, '
                f'momentum={self.momentum}, calibrate_at_test={self.calibrate_at_test}, use_cam={self.use_cam}')
