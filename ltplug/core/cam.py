"""Class activation map (CAM) calibration for long-tailed recognition (CAMC, Zhang et al., arXiv 2108.12757).

No official code exists and only the abstract could be read (docs/methods.md §2), so this module is a **labelled
reconstruction** [INFER]. What the abstract fixes: a CAM-based module that highlights the image regions correlated
with a class *across data* and re-weights the representation there before classification, in training and at
prediction, followed by a normalised classifier scaled by a scalar. What is reconstructed here (one path, used by
``ltplug.cls.heads.cam_head.CAMCalibratedClsHead``; see ``configs/camc/README.md``):

* the CAM of class c at location l is ``m_c(l) = w^_c . F(:, l)`` with the unit-norm classifier row ``w^_c``
  (Zhou et al. 2016, so that the spatial mean of the map is ``w^_c . GAP(F)``);
* the calibration across data correlates each location with a class **prototype** p_c (exponential moving average of
  the L2-normalised pooled training features of class c): ``s_c(l) = p^_c . F(:, l)``;
* both maps are min-max normalised over the H*W locations and blended: ``a_c = (1 - beta) * norm(m_c) + beta *
  norm(s_c)`` (classes without a prototype yet use the CAM alone); with several selected classes their maps are
  averaged;
* the map becomes pooling weights ``a / sum_l a`` and ``f = GAP(F) + sum_l a(l) F(:, l)``.

Pure torch (no OpenMMLab import); vectorised over samples, selected classes and locations. Inputs are checked by the
head, not again here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def class_maps(fmap: torch.Tensor, class_vectors: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Per-location score of selected classes: ``v^_{n,k} . F_n(:, l)`` -> (N, k, L).

    ``fmap`` (N, d, H, W); ``class_vectors`` (N, k, d) are the classifier rows (or prototypes) of the k classes selected
    for each sample; they are L2-normalised here, the features are not (the CAM property).
    """
    return torch.bmm(F.normalize(class_vectors, dim=-1, eps=eps), fmap.flatten(2))


def normalize_maps(maps: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Min-max normalise maps (N, k, L) over the L locations to [0, 1]; a constant map (range <= eps) becomes all
    ones (uniform)."""
    lo = maps.amin(dim=-1, keepdim=True)
    rng = maps.amax(dim=-1, keepdim=True) - lo
    flat = rng <= eps
    return torch.where(flat, torch.ones_like(maps), (maps - lo) / torch.where(flat, torch.ones_like(rng), rng))


def calibrated_weights(fmap: torch.Tensor, classes: torch.Tensor, weight: torch.Tensor,
                       prototypes: torch.Tensor | None = None, proto_valid: torch.Tensor | None = None,
                       calib_weight: float = 0.5) -> torch.Tensor:
    """Spatial pooling weights (N, L), summing to 1 per image, from the calibrated maps of the selected classes.

    Args:
        fmap: (N, d, H, W) feature map.
        classes: (N, k) long, the classes whose maps are used for each image (ground truth, or top-k predictions).
        weight: (C, d) classifier rows (the CAM source).
        prototypes: (C, d) class prototypes (the calibration across data); ``None`` uses the CAM alone.
        proto_valid: (C,) bool, which prototypes exist yet (classes never seen use the CAM alone).
        calib_weight: beta in ``(1 - beta) * norm(CAM) + beta * norm(prototype map)``, in [0, 1].
    """
    maps = normalize_maps(class_maps(fmap, weight[classes]))
    if prototypes is not None and calib_weight > 0:
        proto_maps = normalize_maps(class_maps(fmap, prototypes[classes]))
        beta = torch.full(classes.shape, float(calib_weight), dtype=maps.dtype, device=maps.device)
        if proto_valid is not None:
            beta = beta * proto_valid[classes].to(maps.dtype)
        beta = beta.unsqueeze(-1)
        maps = (1 - beta) * maps + beta * proto_maps
    attn = maps.mean(dim=1)  # average over the k selected classes
    return attn / attn.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(attn.dtype).tiny)


def attention_pool(fmap: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``GAP(F) + sum_l w(l) F(:, l)`` -> (N, d) for pooling weights (N, L).

    With uniform weights ``1 / L`` this is exactly twice global average pooling.
    """
    feats = fmap.flatten(2)
    return torch.bmm(feats, weights.unsqueeze(-1)).squeeze(-1) + feats.mean(dim=-1)


def class_feature_sums(feats: torch.Tensor, labels: torch.Tensor,
                       num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class sums (C, d) and counts (C,) of features (N, d) with labels (N,) in [0, C) (one ``index_add``)."""
    labels = labels.reshape(-1).long()
    sums = feats.new_zeros(num_classes, feats.shape[1]).index_add_(0, labels, feats)
    counts = feats.new_zeros(num_classes).index_add_(0, labels, feats.new_ones(labels.shape[0]))
    return sums, counts


def update_prototypes(prototypes: torch.Tensor, seen: torch.Tensor, sums: torch.Tensor, counts: torch.Tensor,
                      momentum: float = 0.9) -> tuple[torch.Tensor, torch.Tensor]:
    """New (prototypes, seen) after a batch with per-class feature ``sums`` / ``counts``.

    Exponential moving average of the batch class means, ``p <- m p + (1 - m) batch_mean`` (m = ``momentum`` in
    [0, 1)); the first batch of a class sets its prototype. Classes absent from the batch are unchanged. ``seen`` (C,)
    counts the samples that contributed to each prototype.
    """
    present = counts > 0
    batch_mean = sums / counts.clamp_min(1).unsqueeze(-1)
    frac = torch.where((seen > 0).unsqueeze(-1), torch.full_like(seen, 1 - momentum).unsqueeze(-1),
                       torch.ones_like(seen).unsqueeze(-1))
    new = torch.where(present.unsqueeze(-1), prototypes + frac * (batch_mean - prototypes), prototypes)
    return new, seen + counts
