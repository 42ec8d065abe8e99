"""Category extrapolation with auxiliary neighbour classes: the neighbour-silencing loss and its class-pair mask.

"Learning from Neighbors: Category Extrapolation for Long-Tail Learning" (Zhao et al., CVPR 2025; official code
``Shizhen-ZHAO/Gran_LT``, ``util/loss.py::Bal_CE_loss`` and ``util/datasets.py::generate_mask / re_arrange``;
docs/methods.md §5). The label space holds K = C_tgt + C_aux classes: targets 0..C_tgt-1, auxiliary neighbours
after them.

* Mask M in {0,1}^{K x K}, all ones except the neighbour pairs: for every target t and each of its auxiliary
  neighbours a, M[t, a] = M[a, t] = 0 (``no_fm_remove_normal_neg``, the main runs); ``no_fm`` silences only the pairs
  whose target has fewer than ``few_medium_thr`` (100) training images; ``unmask`` keeps M = 1 (plain BalCE).
* Loss per sample with hard (pre-mixup) label y, logits z and soft target t:
  ``z' = z + tau * log(pi + 1e-9)``; entries j with M[y, j] = 0 are removed from the softmax; ``t' = t * M[y]`` (not
  renormalised); ``loss = -sum_j t'_j log softmax(z')_j``, averaged over samples.
* The auxiliary sub-sampling rule of ``re_arrange``: :func:`auxiliary_quota`.

Numerics: the official code adds a float64 -99999 to masked logits. Here the logits are upcast to float32 and masked
entries are *filled* with a finite -1e9 (so fp16/bf16 inputs never meet -inf or an fp16 overflow), and the masked
targets are zero, so ``0 * log p`` never becomes NaN. The exp of a masked entry is exactly 0 in float32, i.e. the same
removal as the official code's up to exp(-99999).

Pure torch / numpy, vectorised (index assignments, no loops over samples or classes).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

MASK_TYPES = ('no_fm_remove_normal_neg', 'no_fm', 'unmask')
MASK_FILL = -1e9  # finite in float32; the loss always runs in float32 or float64
PRIOR_EPS = 1e-9  # log(pi + 1e-9), as the official Bal_CE_loss


def neighbour_pairs(neighbours: Mapping[int, Sequence[int]], num_target_classes: int,
                    num_aux_classes: int) -> np.ndarray:
    """(P, 2) int64 array of (target, auxiliary) pairs in the merged label space (auxiliary ids shifted by C_tgt).

    ``neighbours`` maps a target id (0..C_tgt-1) to auxiliary ids in the auxiliary data set's own space
    (0..C_aux-1). Duplicate pairs are an error (they would hide a mistake in the neighbour map).
    """
    tgt = np.asarray([int(t) for t, auxs in neighbours.items() for _ in auxs], dtype=np.int64)
    aux = np.asarray([int(a) for auxs in neighbours.values() for a in auxs], dtype=np.int64)
    if tgt.size and (tgt.min() < 0 or tgt.max() >= num_target_classes):
        raise ValueError(f'neighbour map: target ids must lie in [0, {num_target_classes}), got '
                         f'{int(tgt.min())}..{int(tgt.max())}')
    if aux.size and (aux.min() < 0 or aux.max() >= num_aux_classes):
        raise ValueError(f'neighbour map: auxiliary ids must lie in [0, {num_aux_classes}), got '
                         f'{int(aux.min())}..{int(aux.max())}')
    pairs = np.stack([tgt, aux + num_target_classes], axis=1) if tgt.size else np.zeros((0, 2), np.int64)
    if np.unique(pairs, axis=0).shape[0] != pairs.shape[0]:
        raise ValueError('neighbour map: a target lists the same auxiliary class twice')
    return pairs


def build_neighbour_mask(pairs: np.ndarray | torch.Tensor, num_classes: int, mask_type: str = 'no_fm_remove_normal_neg',
                         class_counts: np.ndarray | torch.Tensor | None = None,
                         few_medium_thr: int = 100) -> torch.Tensor:
    """The keep-mask M (K, K) as bool: False where the pair (row = sample's class, column) is silenced.

    ``pairs`` (P, 2) are (target, auxiliary) ids in the merged space. ``no_fm`` needs ``class_counts`` (K,) and
    silences only pairs whose target has ``count < few_medium_thr`` (medium and few classes), in both directions.
    """
    if mask_type not in MASK_TYPES:
        raise ValueError(f'mask_type must be one of {MASK_TYPES}, got {mask_type!r}')
    keep = torch.ones(num_classes, num_classes, dtype=torch.bool)
    pairs = torch.as_tensor(np.asarray(pairs), dtype=torch.long).reshape(-1, 2)
    if mask_type == 'unmask' or pairs.numel() == 0:
        return keep
    if pairs.min() < 0 or pairs.max() >= num_classes:
        raise ValueError(f'neighbour pairs must lie in [0, {num_classes}) (num_classes = targets + auxiliaries)')
    if mask_type == 'no_fm':
        if class_counts is None:
            raise ValueError("mask_type='no_fm' needs the class counts (only targets with < few_medium_thr training "
                             'images are silenced)')
        counts = torch.as_tensor(np.asarray(class_counts)).reshape(-1)
        if counts.numel() != num_classes:
            raise ValueError(f'class counts for {counts.numel()} classes but num_classes={num_classes}')
        pairs = pairs[counts[pairs[:, 0]] < few_medium_thr]
    keep[pairs[:, 0], pairs[:, 1]] = False
    keep[pairs[:, 1], pairs[:, 0]] = False
    return keep


def log_prior(class_counts: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``log(pi + 1e-9)`` with ``pi = n_c / sum(n)`` over all K classes (float64; zero counts stay finite)."""
    counts = torch.as_tensor(np.asarray(class_counts), dtype=torch.float64).reshape(-1)
    if counts.numel() == 0 or (counts < 0).any() or counts.sum() <= 0:
        raise ValueError('class counts must be non-negative with a positive total')
    return torch.log(counts / counts.sum() + PRIOR_EPS)


def smooth_one_hot(labels: torch.Tensor, num_classes: int, smoothing: float = 0.0,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """timm-style smoothed one-hot targets: ``1 - s + s/K`` on the label, ``s/K`` elsewhere."""
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f'label smoothing must lie in [0, 1), got {smoothing}')
    off = smoothing / num_classes
    target = torch.full((labels.numel(), num_classes), off, dtype=dtype, device=labels.device)
    return target.scatter_(1, labels.reshape(-1, 1).long(), 1.0 - smoothing + off)


def neighbour_silencing_loss(logits: torch.Tensor, labels: torch.Tensor, keep_mask: torch.Tensor,
                             prior: torch.Tensor | None = None, tau: float = 1.0,
                             soft_target: torch.Tensor | None = None, label_smoothing: float = 0.0) -> torch.Tensor:
    """Per-sample neighbour-silencing loss (N,) in float32 (float64 if the logits are float64).

    Args:
        logits: (N, K) raw logits over targets and auxiliaries (any float dtype; upcast to float32).
        labels: (N,) hard labels (the pre-mixup labels under Mixup/CutMix): they pick the mask row.
        keep_mask: (K, K) bool (or 0/1) mask from :func:`build_neighbour_mask`.
        prior: (K,) ``log(pi + 1e-9)`` from :func:`log_prior`, added times ``tau`` (logit adjustment); None skips it.
        soft_target: (N, K) targets (Mixup/CutMix scores); default the one-hot of ``labels``.
        label_smoothing: timm-style smoothing over the K classes applied to the targets (s/K off, 1-s+s/K on; for mixed
            targets the same affine map, which equals smoothing before mixing).
    """
    if logits.dim() != 2:
        raise ValueError(f'logits must be (N, K), got shape {tuple(logits.shape)}')
    n, k = logits.shape
    if keep_mask.shape != (k, k):
        raise ValueError(f'the neighbour mask is {tuple(keep_mask.shape)} but the logits have K={k} classes')
    labels = labels.reshape(-1).long()
    if labels.numel() != n:
        raise ValueError(f'{labels.numel()} labels for {n} logit rows')
    work = torch.float64 if logits.dtype == torch.float64 else torch.float32
    z = logits.to(work)
    if prior is not None:
        if prior.numel() != k:
            raise ValueError(f'the prior has {prior.numel()} classes but the logits have K={k}')
        z = z + tau * prior.to(device=z.device, dtype=work).reshape(1, k)
    if soft_target is None:
        target = smooth_one_hot(labels, k, label_smoothing, work)
    else:
        if soft_target.shape != (n, k):
            raise ValueError(f'soft targets must be (N, K) = {(n, k)}, got {tuple(soft_target.shape)}')
        target = soft_target.to(work)
        if label_smoothing:
            target = target * (1.0 - label_smoothing) + label_smoothing / k
    keep = keep_mask.to(device=z.device, dtype=torch.bool)[labels]  # (N, K) row of the sample's class
    z = z.masked_fill(~keep, MASK_FILL)
    target = target.masked_fill(~keep, 0.0)
    return -(target * F.log_softmax(z, dim=-1)).sum(dim=-1)


def auxiliary_quota(reference_counts: np.ndarray, available: np.ndarray, high: int = 100, low: int = 20,
                    cap: int = 50) -> np.ndarray:
    """Images drawn per auxiliary class per epoch (``re_arrange``): m > high -> cap; low < m <= high -> m;
    m <= low -> cap; never more than the class has (``available``)."""
    m = np.asarray(reference_counts, dtype=np.int64)
    selected = np.where(m > high, cap, np.where(m > low, m, cap))
    return np.minimum(selected, np.asarray(available, dtype=np.int64))


# ---- neighbour proposal (tools/lfn/propose_neighbours.py) -----------------------------------------------------------
def class_prototypes(feats: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Unit-norm class prototypes (C, d): the mean of the L2-normalised features of each class, re-normalised.

    A class without any feature is an error (its prototype would be undefined).
    """
    if feats.dim() != 2:
        raise ValueError(f'features must be (N, d), got {tuple(feats.shape)}')
    if not torch.isfinite(feats).all():
        raise ValueError('the extracted features contain NaN/inf values')
    labels = labels.reshape(-1).long()
    counts = torch.bincount(labels, minlength=num_classes)
    if counts.numel() != num_classes or (counts == 0).any():
        empty = torch.nonzero(counts[:num_classes] == 0).flatten()[:10].tolist()
        raise ValueError(f'no feature for classes {empty} (or labels >= {num_classes}); every class needs images')
    sums = torch.zeros(num_classes, feats.shape[1], dtype=torch.float64).index_add_(
        0, labels, F.normalize(feats.double(), dim=-1))
    return F.normalize(sums, dim=-1)


def propose_neighbours(target_protos: torch.Tensor, cand_protos: torch.Tensor, target_counts: np.ndarray,
                       band: tuple[float, float] = (0.7, 0.98), num_per_split: Sequence[int] = (1, 2, 3),
                       many_thr: int = 100, few_thr: int = 20,
                       exclusive: bool = False) -> tuple[dict[int, list[int]], torch.Tensor]:
    """Neighbour candidates of every target class by prototype cosine similarity inside the open band.

    A candidate c is eligible for target t if ``low < cos(p_t, q_c) < high`` (0.7 / 0.98: close, but not a duplicate of
    the target). Each target takes its most similar eligible candidates, up to ``num_per_split`` = (many, medium, few)
    by its training count (more neighbours for tail classes; splits as docs/methods.md §0.1 with ``many_thr`` /
    ``few_thr``).
    ``exclusive`` gives every candidate to at most one target (the eligible target it is most similar to).
    Returns ({target: [candidates, most similar first]}, similarity matrix (C_tgt, M)); targets without a neighbour
    are left out.
    """
    low, high = float(band[0]), float(band[1])
    if not -1.0 <= low < high <= 1.0:
        raise ValueError(f'the similarity band must satisfy -1 <= low < high <= 1, got {band}')
    if len(num_per_split) != 3 or min(num_per_split) < 0:
        raise ValueError(f'num_per_split must be three counts >= 0 (many, medium, few), got {num_per_split}')
    counts = np.asarray(target_counts).reshape(-1)
    if counts.size != target_protos.shape[0]:
        raise ValueError(f'{counts.size} target counts for {target_protos.shape[0]} target prototypes')
    sim = F.normalize(target_protos.double(), dim=-1) @ F.normalize(cand_protos.double(), dim=-1).t()
    eligible = (sim > low) & (sim < high)
    if exclusive:
        masked = sim.masked_fill(~eligible, -np.inf)
        owner = masked.argmax(dim=0)
        eligible = eligible & (torch.arange(sim.shape[0])[:, None] == owner[None, :])
    split = np.where(counts > many_thr, 0, np.where(counts < few_thr, 2, 1))
    quota = torch.as_tensor(np.asarray(num_per_split, dtype=np.int64)[split])
    order = sim.masked_fill(~eligible, -np.inf).argsort(dim=1, descending=True, stable=True)
    ranked_ok = eligible.gather(1, order) & (torch.arange(sim.shape[1])[None, :] < quota[:, None])
    rows, cols = torch.nonzero(ranked_ok, as_tuple=True)  # row-major: per target, most similar first
    chosen = order[rows, cols]
    out: dict[int, list[int]] = {}
    for t, c in zip(rows.tolist(), chosen.tolist()):  # output formatting of the (small) selection
        out.setdefault(t, []).append(c)
    return out, sim
