"""BCL's two-branch classifier (official ``BCLModel`` + training step) and the multi-view data pre-processor it needs.

Training step, as in the official ``main.py``: the 3 views of each of the B images go through the encoder as ONE batch
of 3B (shared BN statistics); the classification head sees view 1 only and gives L_LC (its loss, normally
``LogitAdjustedLoss``); the projection head MLP (Linear-BN-ReLU-Linear, then L2-normalisation) runs on all 3B pooled
features (so its BN statistics are over the 3B rows, as officially) and the embeddings of views 2 and 3 are the BCL
anchors; the class prototypes are normalise(MLP'(w_c)) for the C raw classifier vectors w_c through a second MLP of the
same shape (BN statistics over the C prototypes in training), with gradients into both the MLP and the classifier.
Total loss = alpha * L_LC + beta * L_BCL, with alpha = ``head.loss.loss_weight`` and beta =
``contrast_loss.loss_weight``.
Prediction uses the view-1 logits of the head, with no prior.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models import ClsDataPreprocessor, ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .multiview import MultiCropClsDataPreprocessor

__all__ = ['BCLDataPreprocessor', 'BCLClassifier', 'gather_views']


class _GatherRows(torch.autograd.Function):
    """all_gather of equal-size row blocks whose backward returns this rank's block of the all-reduced gradient.

    Every rank's loss depends on every rank's rows, so the gradient of a block is the sum over ranks of the gradients
    the ranks' losses give it (one all_reduce; works on gloo and NCCL).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        world, rank = dist.get_world_size(), dist.get_rank()
        blocks = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(blocks, x.contiguous())
        ctx.rank, ctx.rows = rank, x.shape[0]
        return torch.cat(blocks, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.rows:(ctx.rank + 1) * ctx.rows]


def gather_views(features: torch.Tensor,
                 labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(all ranks' features, their labels, the rows of this rank's features) for a batch-global BCL loss.

    Without a process group (or with one process) the inputs come back unchanged with ``None`` (all rows are anchors).
    Each rank then averages over its own anchors, and DDP's gradient averaging gives exactly the gradient of the loss
    over the global batch, as in the official single-process DataParallel code. Needs equal local batches (drop_last).
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return features, labels, None
    world, rank = dist.get_world_size(), dist.get_rank()
    size = torch.tensor([features.shape[0]], device=features.device)
    sizes = [torch.empty_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    if len({int(s) for s in sizes}) != 1:
        raise ValueError(f'BCLClassifier: the ranks hold different numbers of views {[int(s) for s in sizes]}; the '
                         'batch-global BCL loss needs equal local batches: set train_dataloader.drop_last=True (or '
                         'model.gather_views=False for a per-GPU loss)')
    label_blocks = [torch.empty_like(labels) for _ in range(world)]
    dist.all_gather(label_blocks, labels.contiguous())
    rows = features.shape[0]
    index = torch.arange(rank * rows, (rank + 1) * rows, device=features.device)
    return _GatherRows.apply(features), torch.cat(label_blocks), index


@MODELS.register_module()
class BCLDataPreprocessor(MultiCropClsDataPreprocessor):
    """``ClsDataPreprocessor`` that keeps the views of a multi-view batch apart, as a list (BCL's 3 views).

    A multi-view batch (``BCLMultiView`` / ``MultiView`` + ``PackInputs``, collated by mmpretrain's default
    ``pseudo_collate`` or by ``default_collate``) comes out as a list of V tensors of B images each, in view order, each
    normalised like a single-view batch; the labels are processed once (one data sample per image). Single-view batches
    (validation, test) are handled exactly as by ``ClsDataPreprocessor``. Batch augmentations (mixup / cutmix) are not
    supported with several views. (``MultiCropClsDataPreprocessor`` instead interleaves the views into one batch with
    repeated labels, for models that treat every view alike.)
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        views = self.normalise_views(data, training)
        if views is None:
            return ClsDataPreprocessor.forward(self, data, training)
        batches, samples = views
        return {'inputs': batches, 'data_samples': samples}


def _mlp(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """Linear - BN1d - ReLU - Linear, PyTorch default init (the official ``head`` / ``head_fc``)."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True),
                         nn.Linear(hidden_dim, out_dim))


def _loss_precision(x: torch.Tensor) -> torch.Tensor:
    """``x`` in at least float32: half-precision (AMP) projections are promoted for the loss, float32 and float64 are
    kept as they are (a float64 model trains in float64 end to end, as the official code does)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


@MODELS.register_module()
class BCLClassifier(ImageClassifier):
    """Balanced Contrastive Learning (Zhu et al., CVPR 2022): classifier + contrastive branch with class prototypes.

    Args:
        backbone, neck, head: as ``ImageClassifier``; the neck must pool to (N, in_channels) and the head must expose
            its class vectors (``CosineClsHead.class_weights``, or an ``fc`` layer). BCL: ``CosineClsHead(scale=30)``
            with ``loss=dict(type='LogitAdjustedLoss', tau=1.0, loss_weight=alpha)``.
        feat_dim: output dimension of the projection / prototype MLPs (1024 on ImageNet-LT / iNat).
        hidden_dim: their hidden width (default: the feature dimension, 2048 -> 2048 officially).
        contrast_loss: the contrastive loss (``BCLLoss``; its ``loss_weight`` is beta = 0.35, temperature 0.07).
        gather_views: in distributed training, compute BCL over the views of the global batch (all ranks' views are
            keys, each rank's views its anchors), as the official DataParallel code does; False: a per-GPU loss.
        data_preprocessor: defaults to ``BCLDataPreprocessor`` (the train batches carry 3 views).
        pretrained, train_cfg, init_cfg: as ``ImageClassifier``.
    """

    def __init__(self, backbone: dict, neck: dict | None = None, head: dict | None = None, feat_dim: int = 1024,
                 hidden_dim: int | None = None,
                 contrast_loss: dict | None = None, gather_views: bool = True,
                 pretrained: str | None = None, train_cfg: dict | None = None,
                 data_preprocessor: dict | nn.Module | None = None, init_cfg: dict | None = None) -> None:
        if head is None:
            raise ValueError('BCLClassifier needs a classification head (model.head), e.g. CosineClsHead')
        if isinstance(data_preprocessor, dict) or data_preprocessor is None:
            data_preprocessor = dict(data_preprocessor or {})
            data_preprocessor.setdefault('type', 'BCLDataPreprocessor')
        super().__init__(backbone=backbone, neck=neck, head=head, pretrained=pretrained, train_cfg=train_cfg,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if isinstance(self.data_preprocessor, ClsDataPreprocessor) and \
                not isinstance(self.data_preprocessor, BCLDataPreprocessor):
            raise ValueError(f'BCLClassifier: model.data_preprocessor must keep the 3 views of an image apart; use '
                             f"type='BCLDataPreprocessor' (the default), not {type(self.data_preprocessor).__name__}")
        in_channels = getattr(self.head, 'in_channels', None)
        if in_channels is None:
            raise ValueError(f'BCLClassifier: the head {type(self.head).__name__} has no in_channels; '
                             'use CosineClsHead')
        self._class_vectors()  # fail at build time when the head has no usable class vectors
        if int(feat_dim) < 1:
            raise ValueError(f'BCLClassifier: feat_dim must be >= 1 (model.feat_dim), got {feat_dim}')
        self.feat_dim = int(feat_dim)
        self.hidden_dim = int(hidden_dim or in_channels)
        self.contrast_head = _mlp(in_channels, self.hidden_dim, self.feat_dim)  # official `head`
        self.proto_head = _mlp(in_channels, self.hidden_dim, self.feat_dim)  # official `head_fc`
        contrast_loss = contrast_loss or dict(type='BCLLoss', temperature=0.07, loss_weight=0.35)
        self.contrast_loss = contrast_loss if isinstance(contrast_loss, nn.Module) else MODELS.build(contrast_loss)
        self.gather_views = bool(gather_views)

    def _class_vectors(self) -> torch.Tensor:
        """The classifier's raw class vectors as rows (C, in_channels)."""
        if hasattr(self.head, 'class_weights'):
            return self.head.class_weights
        fc = getattr(self.head, 'fc', None)
        if isinstance(fc, nn.Linear):
            return fc.weight
        raise ValueError(f'BCLClassifier: cannot read class vectors from the head {type(self.head).__name__} (needs a '
                         '`class_weights` property or an `fc` nn.Linear); use CosineClsHead')

    def prototypes(self) -> torch.Tensor:
        """L2-normalised class prototypes (C, feat_dim) = normalise(proto_head(w_c)); differentiable."""
        return F.normalize(_loss_precision(self.proto_head(self._class_vectors())), dim=1)

    def project(self, pooled: torch.Tensor, skip_rows: int = 0) -> torch.Tensor:
        """L2-normalised contrastive embeddings (N - skip_rows, feat_dim) of pooled features.

        All N rows go through the first layer and its BN (their batch statistics, as officially); the first
        ``skip_rows`` rows stop there, since their embeddings would be discarded (the classifier's view 1): the same
        values and gradients as projecting every row and slicing, without a third of the last layer's products.
        """
        hidden = self.contrast_head[:-1](pooled)[skip_rows:]
        return F.normalize(_loss_precision(self.contrast_head[-1](hidden)), dim=1)

    @staticmethod
    def _first_view(inputs):
        return inputs[0] if isinstance(inputs, (list, tuple)) else inputs

    def loss(self, inputs: Sequence[torch.Tensor], data_samples: list[DataSample]) -> dict:
        """alpha * L_LC (view 1) and beta * L_BCL (views 2.., with the class prototypes) from ONE encoder pass."""
        if isinstance(inputs, torch.Tensor) or not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(
                'BCLClassifier.loss expects a list of views per batch (view 1 for the classifier, views 2 and 3 for '
                "the contrastive branch): end the train pipeline with dict(type='BCLMultiView', ...) + PackInputs "
                'and keep model.data_preprocessor a BCLDataPreprocessor')
        batch = inputs[0].shape[0]
        shapes = {tuple(v.shape) for v in inputs}
        if len(shapes) != 1:
            raise ValueError(f'BCLClassifier: all views must have the same shape to share one encoder pass, got '
                             f'{sorted(shapes)}; give every view pipeline the same crop size')
        if not all('gt_label' in s for s in data_samples):
            raise ValueError('BCLClassifier needs a hard label (gt_label) for every image; soft labels from batch '
                             'augments are not supported by the contrastive branch')
        labels = torch.cat([s.gt_label for s in data_samples]).to(inputs[0].device).long()
        if labels.numel() != batch:
            raise ValueError(f'BCLClassifier: {labels.numel()} labels for {batch} images (one label per image needed)')
        num_views = len(inputs)

        feats = self.extract_feat(torch.cat(list(inputs), dim=0))  # one pass over all V * B views
        losses = self.head.loss(tuple(f[:batch] for f in feats), data_samples)
        losses['loss_cls'] = losses.pop('loss')

        pooled = self.head.pre_logits(feats)
        if pooled.dim() != 2:
            raise ValueError(f'BCLClassifier: the neck must pool to (N, C) features, got shape {tuple(pooled.shape)}; '
                             "add neck=dict(type='GlobalAveragePooling')")
        # BN of the projection MLP over all V * B rows, as officially; views 2.. are the anchors (view-major order)
        views = self.project(pooled, skip_rows=batch)
        view_labels = labels.repeat(num_views - 1)
        anchor_index = None
        if self.gather_views:
            views, view_labels, anchor_index = gather_views(views, view_labels)
        losses['loss_bcl'] = self.contrast_loss(views, view_labels, self.prototypes(), anchor_index=anchor_index)
        return losses

    def predict(self, inputs, data_samples: list[DataSample] | None = None, **kwargs) -> list[DataSample]:
        """View-1 (or single-view) prediction from the classifier's plain logits (no prior)."""
        return super().predict(self._first_view(inputs), data_samples, **kwargs)

    def forward(self, inputs, data_samples: list[DataSample] | None = None, mode: str = 'tensor'):
        if mode == 'tensor':
            inputs = self._first_view(inputs)
        return super().forward(inputs, data_samples, mode)
