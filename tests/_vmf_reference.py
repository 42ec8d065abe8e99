"""Closed-form float64 references for the vMF heads' auxiliary losses when every class has the same kappa.

With one concentration k for all classes the normalisers cancel: KL(vMF_i || vMF_j) = A_d(k) k (1 - mu_i . mu_j), with
A_d(k) = I_{d/2}(k) / I_{d/2-1}(k) from scipy (independent of ltplug.core.bessel). Fresh heads start at kappa = 16 for
every class, so these are exact references for a first training step.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ive


def mean_resultant(d: int, k: float) -> float:
    return float(ive(d / 2, k) / ive(d / 2 - 1, k))


def _unit(a: np.ndarray) -> np.ndarray:
    """a / max(||a||, 1e-12) (F.normalize's convention: an all-zero feature, e.g. a dead ReLU pixel, stays 0)."""
    a = np.asarray(a, dtype=np.float64)
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)


def icd_shared_kappa(weight, k: float) -> float:
    """sum_{i != j} O_ij / C^2 with O_ij = 1 / (1 + A k (1 - cos_ij))."""
    mu = _unit(weight)
    c, d = mu.shape
    o = 1.0 / (1.0 + mean_resultant(d, k) * k * (1.0 - mu @ mu.T))
    return float((o.sum() - np.trace(o)) / c ** 2)


def cfc_shared_kappa(feats, labels, weight, k: float, ignore_index: int | None = None) -> float:
    """Mean over the classes present of 1 - 1 / (1 + A k (1 - mu_c . normalise(sum of the class's unit features)))."""
    x = _unit(np.asarray(feats, dtype=np.float64).reshape(-1, np.shape(weight)[1]))
    y = np.asarray(labels).reshape(-1)
    if ignore_index is not None:
        x, y = x[y != ignore_index], y[y != ignore_index]
    mu = _unit(weight)
    a = mean_resultant(mu.shape[1], k)
    terms = [1.0 - 1.0 / (1.0 + a * k * (1.0 - mu[c] @ _unit(x[y == c].sum(0)))) for c in np.unique(y)]
    return float(np.mean(terms))
