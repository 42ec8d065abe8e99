"""Class activation map (CAM) calibration for long-tailed recognition (CAMC, Zhang et al., arXiv 2108.12757).

No official code exists and only the abstract could be read (METHODS.md §2), so this module is a **labelled
reconstruction** [INFER]. What the abstract fixes: a CAM-based module that highlights the image regions correlated
with a class *across data* and re-weights the representation there before classification, in training and at
prediction, followed by a normalised classifier scaled by a scalar. What is reconstructed here (every open choice is an
argument, see ``ltplug.cls.heads.cam_head.CAMCalibratedClsHead`` and ``configs/camc/README.md``):

* the CAM of class c at location l is ``m_c(l) = w^_c . F(:, l)`` with the unit-norm classifier row ``w^_c``
  (Zhou et al. 2016, so that the spatial mean of the map is ``w^_c . GAP(F)``);
* the calibration across data correlates each location with a class **prototype** p_c (running mean of the
  L2-normalised pooled training features of class c): ``s_c(l) = p^_c . F(:, l)``;
* both maps are normalised over the H*W locations (``minmax`` to [0, 1], or ``softmax`` with a temperature) and
  blended: ``a_c = (1 - beta) * norm(m_c) + beta * norm(s_c)`` (beta = ``calib_weight``; classes without a prototype
  yet use the CAM alone); with several selected classes (top-k) their maps are averaged;
* the map becomes pooling weights ``a / sum_l a`` and ``f = sum_l a(l) F(:, l)``, optionally plus ``GAP(F)``.

Pure torch (no OpenMMLab import); vectorised over samples, selected classes and locations.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

NORM_MODES = ('minmax', 'softmax')


def flatten_spatial(fmap: torch.Tensor) -> torch.Tensor:
    """(N, d, H, W) or (N, d, L) feature maps -> (N, d, L); anything else is an error naming the expected shape."""
    if fmap.dim() == 4:
        return fmap.flatten(2)
    if fmap.dim() == 3:
        return fmap
    raise ValueError(f'CAM calibration needs the spatial feature map before pooling, shape (N, d, H, W); got shape '
                     f'{tuple(fmap.shape)}. Use neck=None so the head receives the backbone output.')


def class_maps(fmap: torch.Tensor, class_vectors: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Per-location score of selected classes: ``v^_{n,k} . F_n(:, l)`` -> (N, k, L).

    ``fmap`` (N, d, H, W) or (N, d, L); ``class_vectors`` (N, k, d) are the classifier rows (or prototypes) of the
    k classes selected for each sample; they are L2-normalised here, the features are not (the CAM property).
    """
    feats = flatten_spatial(fmap)
    if class_vectors.dim() != 3 or class_vectors.shape[0] != feats.shape[0] or class_vectors.shape[2] != feats.shape[1]:
        raise ValueError(f'class_vectors must be (N={feats.shape[0]}, k, d={feats.shape[1]}), got '
                         f'{tuple(class_vectors.shape)}')
    return torch.bmm(F.normalize(class_vectors, dim=-1, eps=eps), feats)


def normalize_maps(maps: torch.Tensor, mode: str = 'minmax', temperature: float = 0.1,
                   feat_scale: torch.Tensor | None = None, eps: float = 1e-6) -> torch.Tensor:
    """Normalise maps (N, k, L) over the L locations.

    ``minmax``: ``(m - min) / (max - min)`` in [0, 1]; a constant map (range <= eps) becomes all ones (uniform).
    ``softmax``: ``softmax(m / (temperature * feat_scale))`` over locations (sums to 1); ``feat_scale`` (N,) is the
    mean feature norm of each image so the temperature does not depend on the feature magnitude (default 1).
    """
    if mode == 'minmax':
        lo = maps.amin(dim=-1, keepdim=True)
        rng = maps.amax(dim=-1, keepdim=True) - lo
        flat = rng <= eps
        return torch.where(flat, torch.ones_like(maps), (maps - lo) / torch.where(flat, torch.ones_like(rng), rng))
    if mode == 'softmax':
        if not temperature > 0:
            raise ValueError(f'softmax temperature must be > 0, got {temperature}')
        scale = temperature if feat_scale is None else temperature * feat_scale.clamp_min(eps).view(-1, 1, 1)
        return torch.softmax(maps / scale, dim=-1)
    raise ValueError(f'unknown map normalisation {mode!r}; expected one of {NORM_MODES}')


def calibrated_weights(fmap: torch.Tensor, classes: torch.Tensor, weight: torch.Tensor,
                       prototypes: torch.Tensor | None = None, proto_valid: torch.Tensor | None = None,
                       calib_weight: float = 0.5, norm: str = 'minmax', temperature: float = 0.1) -> torch.Tensor:
    """Spatial pooling weights (N, L), summing to 1 per image, from the calibrated maps of the selected classes.

    Args:
        fmap: (N, d, H, W) feature map.
        classes: (N, k) long, the classes whose maps are used for each image (ground truth, or top-k predictions).
        weight: (C, d) classifier rows (the CAM source).
        prototypes: (C, d) class prototypes (the calibration across data); ``None`` uses the CAM alone.
        proto_valid: (C,) bool, which prototypes exist yet (classes never seen use the CAM alone).
        calib_weight: beta in ``(1 - beta) * norm(CAM) + beta * norm(prototype map)``, in [0, 1].
        norm, temperature: see :func:`normalize_maps`.
    """
    if not 0.0 <= calib_weight <= 1.0:
        raise ValueError(f'calib_weight must lie in [0, 1], got {calib_weight}')
    feats = flatten_spatial(fmap)
    if classes.dim() == 1:
        classes = classes[:, None]
    if classes.dim() != 2 or classes.shape[0] != feats.shape[0]:
        raise ValueError(f'classes must be (N={feats.shape[0]}, k), got {tuple(classes.shape)}')
    feat_scale = feats.norm(dim=1).mean(dim=1) if norm == 'softmax' else None
    maps = normalize_maps(class_maps(feats, weight[classes]), norm, temperature, feat_scale)
    if prototypes is not None and calib_weight > 0:
        proto_maps = normalize_maps(class_maps(feats, prototypes[classes]), norm, temperature, feat_scale)
        beta = torch.full(classes.shape, float(calib_weight), dtype=maps.dtype, device=maps.device)
        if proto_valid is not None:
            beta = beta * proto_valid[classes].to(maps.dtype)
        beta = beta.unsqueeze(-1)
        maps = (1 - beta) * maps + beta * proto_maps
    attn = maps.mean(dim=1)  # average over the k selected classes
    return attn / attn.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(attn.dtype).tiny)


def attention_pool(fmap: torch.Tensor, weights: torch.Tensor, residual: bool = False) -> torch.Tensor:
    """``sum_l w(l) F(:, l)`` -> (N, d); with ``residual`` the global average ``GAP(F)`` is added.

    With uniform weights ``1 / L`` this is exactly global average pooling.
    """
    feats = flatten_spatial(fmap)
    if weights.shape != (feats.shape[0], feats.shape[2]):
        raise ValueError(f'pooling weights must be (N, L) = {(feats.shape[0], feats.shape[2])}, got '
                         f'{tuple(weights.shape)}')
    pooled = torch.bmm(feats, weights.unsqueeze(-1)).squeeze(-1)
    return pooled + feats.mean(dim=-1) if residual else pooled


def select_classes(logits: torch.Tensor, labels: torch.Tensor | None = None, k: int = 1) -> torch.Tensor:
    """Classes whose maps are used: the labels (N,) as (N, 1) if given, else the top-k of ``logits`` (N, k)."""
    if labels is not None:
        return labels.reshape(-1, 1).long()
    if not 1 <= k <= logits.shape[-1]:
        raise ValueError(f'top-k must lie in [1, num_classes={logits.shape[-1]}], got {k}')
    return logits.topk(k, dim=-1).indices


def class_feature_sums(feats: torch.Tensor, labels: torch.Tensor,
                       num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class sums (C, d) and counts (C,) of features (N, d) with labels (N,) (one ``index_add``)."""
    labels = labels.reshape(-1).long()
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'labels must lie in [0, {num_classes}), got [{int(labels.min())}, {int(labels.max())}]')
    sums = feats.new_zeros(num_classes, feats.shape[1]).index_add_(0, labels, feats)
    counts = feats.new_zeros(num_classes).index_add_(0, labels, feats.new_ones(labels.shape[0]))
    return sums, counts


def update_prototypes(prototypes: torch.Tensor, seen: torch.Tensor, sums: torch.Tensor, counts: torch.Tensor,
                      momentum: float | None = 0.9) -> tuple[torch.Tensor, torch.Tensor]:
    """New (prototypes, seen) after a batch with per-class feature ``sums`` / ``counts``.

    ``momentum=None``: cumulative mean over every sample seen, ``p <- p + (batch_mean - p) * n_b / (seen + n_b)``.
    ``momentum=m``: exponential moving average of the batch class means, ``p <- m p + (1 - m) batch_mean``; the first
    batch of a class sets its prototype. Classes absent from the batch are unchanged. ``seen`` (C,) counts the samples
    that contributed to each prototype.
    """
    present = counts > 0
    batch_mean = sums / counts.clamp_min(1).unsqueeze(-1)
    if momentum is None:
        frac = (counts / (seen + counts).clamp_min(1)).unsqueeze(-1)
    else:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f'prototype momentum must lie in [0, 1) (or None for the cumulative mean), got {momentum}')
        frac = torch.where((seen > 0).unsqueeze(-1), torch.full_like(seen, 1 - momentum).unsqueeze(-1),
                           torch.ones_like(seen).unsqueeze(-1))
    new = torch.where(present.unsqueeze(-1), prototypes + frac * (batch_mean - prototypes), prototypes)
    return new, seen + counts
