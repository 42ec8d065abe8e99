"""Class-balanced weights from the effective number of samples (Cui et al., CVPR 2019; docs/methods.md §8.2).

The effective number of a class with n samples is E_n = (1 - beta^n) / (1 - beta); its weight is 1 / E_n, rescaled so
that the C weights sum to C (official ``src/cifar_main.py`` of richardaecn/class-balanced-loss, and the ``Reweight`` /
``DRW`` rules of kaidic/LDAM-DRW ``cifar_train.py``). beta = 0 gives all-ones weights (no re-weighting, the first DRW
stage); beta -> 1 tends to inverse class frequency. Pure torch / numpy.
"""
from __future__ import annotations

import numpy as np
import torch

from .counts import positive_counts

__all__ = ['positive_counts', 'effective_number', 'class_balanced_weights', 'inverse_power_weights',
           'per_sample_weights']


def _check_beta(beta: float, where: str) -> float:
    beta = float(beta)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f'{where}: beta must lie in [0, 1), got {beta}')
    return beta


def effective_number(class_counts, beta: float, where: str = 'effective number') -> np.ndarray:
    """E_n = (1 - beta^n) / (1 - beta) per class (float64); E_n = 1 for beta = 0."""
    beta = _check_beta(beta, where)
    counts = positive_counts(class_counts, where, 'their effective number is 0 and their weight infinite')
    return -np.expm1(counts * np.log(beta)) / (1.0 - beta) if beta > 0 else np.ones_like(counts)


def class_balanced_weights(class_counts, beta: float, normalize: bool = True,
                           where: str = 'class-balanced weights') -> np.ndarray:
    """w_c = 1 / E_{n_c}, rescaled to sum to C when ``normalize`` (the official convention); float64 (C,)."""
    weights = 1.0 / effective_number(class_counts, beta, where)
    if normalize:
        weights = weights / weights.sum() * weights.size
    return weights


def per_sample_weights(class_weight: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """w_{y_i} for class-id targets (N,), or sum_c w_c t_ic for soft / one-hot targets (N, C) (official CB code)."""
    if target.dim() == 2:
        if target.shape[1] != class_weight.numel():
            raise ValueError(f'class weights: soft targets have {target.shape[1]} classes, the weights '
                             f'{class_weight.numel()}')
        return target.to(class_weight.dtype) @ class_weight
    target = target.reshape(-1).long()
    if target.numel() and (target.min() < 0 or target.max() >= class_weight.numel()):
        raise ValueError(f'class weights: labels must lie in [0, {class_weight.numel()}), got '
                         f'[{int(target.min())}, {int(target.max())}]')
    return class_weight[target]


def inverse_power_weights(class_counts, power: float = 1.0, where: str = 'inverse-frequency weights') -> np.ndarray:
    """w_c proportional to n_c^(-power) (1: inverse frequency, 0.5: inverse square root), rescaled to sum C."""
    power = float(power)
    if not (np.isfinite(power) and power >= 0):
        raise ValueError(f'{where}: power must be a finite number >= 0, got {power}')
    counts = positive_counts(class_counts, where, 'their effective number is 0 and their weight infinite')
    weights = (counts / counts.max()) ** -power  # relative to the largest count: no overflow for pixel counts
    return weights / weights.sum() * weights.size
