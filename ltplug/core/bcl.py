"""Balanced contrastive loss of BCL (Zhu et al., CVPR 2022), exactly as the official ``BalSCL.forward`` computes it.

Key set K = the N anchor views (in BCL: the v2 and v3 embeddings of the B images, N = 2B) followed by the C class
prototypes (labels 0..C-1), so every class is present (*class-complement*). For anchor i with label y_i:

- positives P(i) = every key j != i with label y_i (other views of the class, including the other view of the same
  image, and the class prototype); |P(i)| = N_{y_i} - 1 where N_k counts the class-k keys (views + 1 prototype);
- logits l_ij = z_i . k_j / tau (self excluded);
- *class-averaged* denominator D_i = sum_{j != i} exp(l_ij) / (N_{label(j)} - [label(j) = y_i]): every class contributes
  the mean of its exps over the keys other than the anchor (positives are in the denominator);
- L_i = -(1/|P(i)|) sum_{p in P(i)} (l_ip - log D_i), and the loss is the mean of L_i over the anchors.

Prototypes are keys only, never anchors, and there is no tau / tau_base rescaling (unlike SupCon).
See docs/methods.md §3.5.
"""
from __future__ import annotations

import torch

__all__ = ['bcl_loss', 'check_bcl_inputs']


def check_bcl_inputs(features: torch.Tensor, labels: torch.Tensor, prototypes: torch.Tensor, temperature: float,
                     anchor_index: torch.Tensor | None = None) -> None:
    """Raise ``ValueError`` for shapes, labels or values the BCL loss cannot use (one host sync for value checks)."""
    if features.dim() != 2:
        raise ValueError(f'bcl_loss: features must be (N, D) view embeddings, got shape {tuple(features.shape)}')
    if prototypes.dim() != 2:
        raise ValueError(f'bcl_loss: prototypes must be (C, D), got shape {tuple(prototypes.shape)}')
    if features.shape[1] != prototypes.shape[1]:
        raise ValueError(f'bcl_loss: feature dim {features.shape[1]} != prototype dim {prototypes.shape[1]}')
    if labels.dim() != 1 or labels.shape[0] != features.shape[0]:
        raise ValueError(f'bcl_loss: labels must be (N,) = ({features.shape[0]},), got shape {tuple(labels.shape)}')
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f'bcl_loss: labels must be integer class ids, got dtype {labels.dtype}')
    if features.shape[0] == 0:
        raise ValueError('bcl_loss: got no views (empty batch)')
    if not temperature > 0:
        raise ValueError(f'bcl_loss: temperature must be > 0, got {temperature}')
    num_classes = prototypes.shape[0]
    bad_label = (labels < 0) | (labels >= num_classes)
    flags = [bad_label.any(), ~torch.isfinite(features).all(), ~torch.isfinite(prototypes).all()]
    if anchor_index is not None:
        if anchor_index.dim() != 1 or anchor_index.numel() == 0 or anchor_index.dtype.is_floating_point:
            raise ValueError(f'bcl_loss: anchor_index must be a non-empty 1-D integer tensor, got shape '
                             f'{tuple(anchor_index.shape)} and dtype {anchor_index.dtype}')
        flags.append(((anchor_index < 0) | (anchor_index >= features.shape[0])).any())
    bad = torch.stack(flags).tolist()
    if bad[0]:
        raise ValueError(f'bcl_loss: labels must lie in [0, {num_classes}) (one prototype per class), got '
                         f'{labels[bad_label][:10].tolist()}; is num_classes right?')
    if bad[1]:
        raise ValueError('bcl_loss: the view features contain NaN or inf (diverged training? check the lr)')
    if bad[2]:
        raise ValueError('bcl_loss: the class prototypes contain NaN or inf (diverged training? check the lr)')
    if len(bad) > 3 and bad[3]:
        raise ValueError(f'bcl_loss: anchor_index must index rows of features, i.e. lie in [0, {features.shape[0]})')


def bcl_loss(features: torch.Tensor, labels: torch.Tensor, prototypes: torch.Tensor, temperature: float = 0.07,
             anchor_index: torch.Tensor | None = None) -> torch.Tensor:
    """Balanced contrastive loss (scalar) of ``features`` (N, D) with ``labels`` (N,) and ``prototypes`` (C, D).

    ``features`` are the view embeddings (BCL: the L2-normalised projections of views 2 and 3, stacked; any order,
    any number of views per image) and ``prototypes`` the L2-normalised class prototypes (row k = class k). The keys
    are all ``features`` rows plus the prototypes; the anchors are all ``features`` rows, or only the rows
    ``anchor_index`` (distributed training: the local rows of the gathered views; the loss is then the mean over those
    anchors only). Computed in float32 (float64 for float64 inputs) even under autocast or with half-precision inputs;
    gradients flow into both inputs. Shapes, labels and finiteness are checked first (one host sync).
    """
    check_bcl_inputs(features, labels, prototypes, temperature, anchor_index)
    num_classes = prototypes.shape[0]
    device = features.device
    with torch.autocast(device_type=device.type, enabled=False):
        dtype = torch.promote_types(torch.promote_types(features.dtype, prototypes.dtype), torch.float32)
        views = features.to(dtype)
        keys = torch.cat([views, prototypes.to(dtype)], dim=0)  # (N + C, D): views first, then prototypes
        labels = labels.long()
        key_labels = torch.cat([labels, torch.arange(num_classes, device=device)])
        counts = torch.bincount(key_labels, minlength=num_classes).to(views.dtype)  # N_k (views + prototype)
        if anchor_index is None:
            anchor_index = torch.arange(views.shape[0], device=device)
        anchor_index = anchor_index.to(device=device, dtype=torch.long)
        anchor_labels = labels[anchor_index]

        logits = views[anchor_index] @ keys.t() / temperature  # (A, N + C)
        # stability: subtract the (detached) row max, which cancels in l_ip - log D_i
        logits = logits - logits.max(dim=1, keepdim=True).values.detach()
        not_self = torch.ones_like(logits, dtype=torch.bool)
        not_self[torch.arange(anchor_index.numel(), device=device), anchor_index] = False
        pos = (anchor_labels[:, None] == key_labels[None, :]) & not_self
        # divisor of key j for anchor i: N_{label(j)}, minus 1 when j is in the anchor's class (the anchor is no key)
        divisor = counts[key_labels][None, :] - pos.to(logits.dtype)
        # log D_i = logsumexp_{j != i} (l_ij - log divisor_ij): the class-averaged denominator without underflow
        log_denom = torch.logsumexp((logits - divisor.log()).masked_fill(~not_self, float('-inf')), dim=1)
        num_pos = pos.sum(dim=1).to(logits.dtype)  # = N_{y_i} - 1 >= 1 thanks to the prototype
        mean_pos_logit = (logits * pos).sum(dim=1) / num_pos
        return -(mean_pos_logit - log_denom).mean()
