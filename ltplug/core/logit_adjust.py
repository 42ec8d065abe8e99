"""Logit-adjusted cross-entropy (Menon et al. 2021), the classification branch of BCL (official ``LogitAdjust``).

Training minimises CE(z + tau * log pi, y) with the class prior pi_c = n_c / sum(n) of the training set; prediction
uses the plain logits z (no prior), which is what makes the learnt classifier balanced. tau = 1 in BCL.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .counts import positive_counts

__all__ = ['log_class_prior', 'adjust_logits', 'logit_adjusted_cross_entropy']


def log_class_prior(class_counts: Sequence[int] | np.ndarray | torch.Tensor | None,
                    where: str = 'class counts') -> torch.Tensor:
    """log(n_c / N) as a float32 tensor (C,); ``ValueError`` naming ``where`` for missing, empty or zero counts."""
    if class_counts is None:
        raise ValueError(f'{where}: per-class training counts are missing; logit adjustment needs the class prior '
                         'n_c / N (give class_counts= or add ClassCountsHook to custom_hooks)')
    counts = positive_counts(class_counts, where, 'their log prior is -inf. Remove those classes or fix '
                             'num_classes / the counts.')
    return torch.from_numpy(np.log(counts / counts.sum())).float()


def adjust_logits(logits: torch.Tensor, log_prior: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """z + tau * log pi (broadcast over the class dimension, the last one); used in training only."""
    if logits.shape[-1] != log_prior.shape[-1]:
        raise ValueError(f'logit adjustment: the logits have {logits.shape[-1]} classes but the class prior has '
                         f'{log_prior.shape[-1]} (check num_classes against the class counts)')
    return logits + tau * log_prior.to(device=logits.device, dtype=logits.dtype)


def logit_adjusted_cross_entropy(logits: torch.Tensor, target: torch.Tensor, log_prior: torch.Tensor,
                                 tau: float = 1.0, reduction: str = 'mean') -> torch.Tensor:
    """CE(z + tau * log pi, y) per sample (``reduction='none'``) or averaged / summed.

    ``target`` holds class ids (N,) or soft / one-hot scores (N, C) (mixup-style batch augments).
    """
    if logits.dim() != 2:
        raise ValueError(f'logit-adjusted CE: logits must be (N, C), got shape {tuple(logits.shape)}')
    if reduction not in ('none', 'mean', 'sum'):
        raise ValueError(f"logit-adjusted CE: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    adjusted = adjust_logits(logits, log_prior, tau)
    if target.dim() == 2:  # soft targets
        if target.shape != logits.shape:
            raise ValueError(f'logit-adjusted CE: soft targets must be (N, C) = {tuple(logits.shape)}, got '
                             f'{tuple(target.shape)}')
        loss = -(target.to(adjusted.dtype) * F.log_softmax(adjusted, dim=1)).sum(dim=1)
        if reduction == 'mean':
            return loss.mean()
        return loss.sum() if reduction == 'sum' else loss
    if target.dim() != 1 or target.shape[0] != logits.shape[0]:
        raise ValueError(f'logit-adjusted CE: targets must be (N,) class ids with N = {logits.shape[0]}, got shape '
                         f'{tuple(target.shape)}')
    return F.cross_entropy(adjusted, target.long(), reduction=reduction)
