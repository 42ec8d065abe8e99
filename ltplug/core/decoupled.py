"""Classifier re-balancing maths of "Decoupling Representation and Classifier" (Kang et al., ICLR 2020).

Pure torch: the tau-normalised classifier, the learnable weight scaling (LWS) logits, the nearest class mean (NCM)
classifier and the vectorised tau sweep. The mmpretrain heads in ``ltplug.cls.heads.decoupled_heads`` and the tools in
``tools/decoupling`` are thin adapters over these functions.

Conventions follow the official code (``facebookresearch/classifier-balancing``; see docs/methods.md §4.3):

* tau-norm: ``w_c / ||w_c||^tau`` applied to the *joint* classifier, the bias is dropped;
* LWS: ``f * (W x + b)``, the bias is scaled too;
* NCM: centroids are the means of (transformed) training features and are **not** re-normalised afterwards; the query
  goes through the same transform; scores are ``-||q - c||^2`` (``l2``) or ``q . c / d`` (``cos``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

FEAT_TYPES = ('un', 'l2n', 'cl2n')
DIST_TYPES = ('l2', 'cos')
# linspace(0, 2, 21): the official sweep (tau_norm.py), step 0.1, computed exactly (no accumulated float steps)
DEFAULT_TAUS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(21))


def _check_2d(name: str, t: torch.Tensor) -> None:
    if t.dim() != 2:
        raise ValueError(f'{name} must be 2-D, got shape {tuple(t.shape)}')


def _check_finite(name: str, t: torch.Tensor) -> None:
    if not torch.isfinite(t).all():
        bad = (~torch.isfinite(t)).reshape(t.shape[0], -1).any(dim=1).nonzero().flatten()[:10].tolist()
        raise ValueError(f'{name} contains NaN/inf values (first bad rows: {bad})')


# ----------------------------------------------------------------------------------------------------- tau-norm
def tau_normalize_weight(weight: torch.Tensor, tau: float, eps: float = 1e-12) -> torch.Tensor:
    """Return ``w_c / ||w_c||_2^tau`` for every class row of ``weight`` (C, d).

    ``tau = 0`` leaves the weights unchanged, ``tau = 1`` gives unit-norm rows. A zero row would be 0/0 in the official
    code; its norm is clamped to ``eps`` here so the row stays zero (its logit is 0).
    """
    _check_2d('weight', weight)
    norms = weight.norm(p=2, dim=1, keepdim=True).clamp_min(eps)
    return weight / norms.pow(tau)


def tau_norm_logits(x: torch.Tensor, weight: torch.Tensor, tau: float) -> torch.Tensor:
    """Logits ``x . w~_c`` of the tau-normalised classifier for features ``x`` (N, d): the bias is dropped."""
    _check_2d('features', x)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f'feature dim {x.shape[1]} does not match classifier weight dim {weight.shape[1]}')
    return x @ tau_normalize_weight(weight, tau).t()


def parse_taus(spec: str | Sequence[float] | None) -> tuple[float, ...]:
    """Taus from ``None`` (0..2 step 0.1), a list, or a ``start:stop:step`` string (stop included), e.g. ``0:2:0.1``."""
    if spec is None:
        return DEFAULT_TAUS
    if isinstance(spec, str):
        parts = spec.split(':')
        if len(parts) != 3:
            raise ValueError(f'tau range must be start:stop:step (e.g. 0:2:0.1), got {spec!r}')
        start, stop, step = (float(p) for p in parts)
        if step <= 0 or stop < start:
            raise ValueError(f'tau range {spec!r}: need step > 0 and stop >= start')
        n = int(np.floor((stop - start) / step + 1e-9)) + 1
        return tuple(round(start + i * step, 10) for i in range(n))
    taus = tuple(float(t) for t in spec)
    if not taus:
        raise ValueError('the list of taus is empty')
    return taus


def tau_sweep_predictions(x: torch.Tensor, weight: torch.Tensor, taus: Sequence[float] = DEFAULT_TAUS,
                          max_elements: int = 1 << 26) -> torch.Tensor:
    """Top-1 predictions of the tau-normalised classifier for every tau at once: (T, N) int64.

    ``x . w_c / ||w_c||^tau`` is the raw dot product scaled per class, so the (N, C) products are computed once and the
    taus are processed in chunks of (T_chunk, N, C) elements bounded by ``max_elements`` (all 21 at once when small).
    """
    _check_2d('features', x)
    _check_2d('weight', weight)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f'feature dim {x.shape[1]} does not match classifier weight dim {weight.shape[1]}')
    raw = x @ weight.t()  # (N, C)
    norms = weight.norm(p=2, dim=1).clamp_min(1e-12)  # (C,)
    tau_t = torch.as_tensor(list(taus), dtype=raw.dtype, device=raw.device)
    scales = norms.unsqueeze(0).pow(-tau_t.unsqueeze(1))  # (T, C): ||w_c||^-tau
    chunk = max(1, max_elements // max(1, raw.numel()))
    preds = [(raw.unsqueeze(0) * scales[i:i + chunk].unsqueeze(1)).argmax(dim=2) for i in range(0, len(taus), chunk)]
    return torch.cat(preds, dim=0)


# ----------------------------------------------------------------------------------------------------- LWS
def lws_logits(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, scales: torch.Tensor) -> torch.Tensor:
    """Learnable weight scaling: ``f_c * (w_c . x + b_c)`` (N, C); the per-class scale multiplies the bias as well."""
    _check_2d('features', x)
    if scales.shape != (weight.shape[0],):
        raise ValueError(f'scales must have shape ({weight.shape[0]},) (one per class), got {tuple(scales.shape)}')
    return F.linear(x, weight, bias) * scales


# ----------------------------------------------------------------------------------------------------- NCM
def _check_types(feat_type: str, dist_type: str | None = None) -> None:
    if feat_type not in FEAT_TYPES:
        raise ValueError(f'feat_type must be one of {FEAT_TYPES}, got {feat_type!r}')
    if dist_type is not None and dist_type not in DIST_TYPES:
        raise ValueError(f'dist_type must be one of {DIST_TYPES}, got {dist_type!r}')


def ncm_transform(feats: torch.Tensor, feat_type: str, train_mean: torch.Tensor | None = None) -> torch.Tensor:
    """Feature transform of an NCM variant: ``un`` identity, ``l2n`` L2-normalise, ``cl2n`` centre then L2-normalise.

    ``train_mean`` (d,) is the mean over all training features (needed for ``cl2n`` only).
    """
    _check_types(feat_type)
    _check_2d('features', feats)
    if feat_type == 'un':
        return feats
    if feat_type == 'cl2n':
        if train_mean is None:
            raise ValueError("feat_type='cl2n' needs the mean of the training features (train_mean)")
        if train_mean.shape != (feats.shape[1],):
            raise ValueError(f'train_mean has shape {tuple(train_mean.shape)}, expected ({feats.shape[1]},)')
        feats = feats - train_mean
    return F.normalize(feats, p=2, dim=1, eps=1e-12)


def ncm_centroids(feats: torch.Tensor, labels: torch.Tensor, num_classes: int,
                  feat_type: str = 'cl2n') -> tuple[torch.Tensor, torch.Tensor]:
    """Class means of the transformed training features and the overall training mean: ``(centroids (C, d), (d,))``.

    The centroids are plain means of the transformed features (**not** re-normalised), as in the official
    ``get_knncentroids``. Every class needs at least one training feature.
    """
    _check_types(feat_type)
    _check_2d('features', feats)
    labels = torch.as_tensor(labels, device=feats.device).reshape(-1).long()
    if labels.numel() != feats.shape[0]:
        raise ValueError(f'{feats.shape[0]} features but {labels.numel()} labels')
    _check_finite('training features', feats)
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'labels must lie in [0, {num_classes}), got [{int(labels.min())}, {int(labels.max())}]')
    counts = torch.bincount(labels, minlength=num_classes)
    if (counts == 0).any():
        empty = (counts == 0).nonzero().flatten()[:10].tolist()
        raise ValueError(f'{int((counts == 0).sum())} class(es) have no training feature (first: {empty}); '
                         'their NCM centroid is undefined')
    train_mean = feats.mean(dim=0)
    t = ncm_transform(feats, feat_type, train_mean)
    sums = torch.zeros(num_classes, feats.shape[1], dtype=feats.dtype, device=feats.device).index_add_(0, labels, t)
    return sums / counts.to(feats.dtype).unsqueeze(1), train_mean


def ncm_scores(query: torch.Tensor, centroids: torch.Tensor, feat_type: str = 'cl2n', dist_type: str = 'l2',
               train_mean: torch.Tensor | None = None) -> torch.Tensor:
    """NCM logits (N, C) for raw query features: ``-||q - c||^2`` (``l2``) or ``q . c / d`` (``cos``).

    The query is transformed like the training features (``ncm_transform``); the centroids are used as stored.
    """
    _check_types(feat_type, dist_type)
    _check_2d('centroids', centroids)
    q = ncm_transform(query, feat_type, train_mean)
    if q.shape[1] != centroids.shape[1]:
        raise ValueError(f'feature dim {q.shape[1]} does not match centroid dim {centroids.shape[1]}')
    dots = q @ centroids.t()
    if dist_type == 'cos':
        return dots / q.shape[1]
    sq_dist = q.pow(2).sum(1, keepdim=True) + centroids.pow(2).sum(1).unsqueeze(0) - 2 * dots
    return -sq_dist
