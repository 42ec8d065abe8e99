"""Calibration metrics: expected calibration error (ECE), classwise ECE and reliability-diagram bins (numpy only).

Binning (fixed, documented): ``n_bins`` = 15 equal-width confidence bins, bin b = (b / 15, (b + 1) / 15] (left-open,
right-closed), as in the ``_ECELoss`` of gpleiss/temperature_scaling (Guo et al., ICML 2017); a confidence of exactly
0 falls into the first bin. With confidences conf_i = max_c p_ic and predictions argmax_c p_ic,

    ECE = sum_b |B_b| / N * |acc(B_b) - conf(B_b)|

(acc: fraction of correct predictions in the bin, conf: mean confidence in the bin; empty bins contribute 0).
Classwise ECE (Kull et al., NeurIPS 2019) bins, for every class c, the probabilities p_ic of all N samples and
compares them with the frequency of y_i = c: cwECE = 1/C sum_c sum_b |B_cb| / N * |freq_c(B_cb) - mean p_c(B_cb)|.
Values are fractions in [0, 1]; ``LongTailAccuracy`` reports them in percent. See docs/methods.md §8.4.
"""
from __future__ import annotations

import numpy as np

__all__ = ['DEFAULT_BINS', 'bin_index', 'reliability_bins', 'expected_calibration_error', 'classwise_ece']

DEFAULT_BINS = 15


def _check(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if probs.ndim != 2 or probs.shape[0] != labels.size:
        raise ValueError(f'calibration: probabilities must be N x C with N = {labels.size}, got shape {probs.shape}')
    if labels.size and (labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise ValueError(f'calibration: labels must lie in [0, {probs.shape[1]}), got [{labels.min()}, {labels.max()}]')
    if not np.all(np.isfinite(probs)) or probs.min(initial=0.0) < 0 or probs.max(initial=0.0) > 1:
        raise ValueError('calibration: scores must be probabilities in [0, 1] (softmax or sigmoid outputs), got '
                         f'values in [{probs.min()}, {probs.max()}]')
    return probs, labels


def bin_index(confidence: np.ndarray, n_bins: int = DEFAULT_BINS) -> np.ndarray:
    """Bin of every confidence: b such that b / n < conf <= (b + 1) / n (0 goes to bin 0)."""
    if int(n_bins) < 1:
        raise ValueError(f'calibration: n_bins must be >= 1, got {n_bins}')
    conf = np.asarray(confidence, dtype=np.float64)
    return np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS) -> dict[str, np.ndarray]:
    """Per bin: ``count``, mean ``confidence`` and ``accuracy`` (NaN for empty bins), and the bin ``edges``."""
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    hit = np.asarray(correct, dtype=np.float64).reshape(-1)
    if conf.shape != hit.shape:
        raise ValueError(f'calibration: {conf.size} confidences for {hit.size} correctness values')
    idx = bin_index(conf, n_bins)
    count = np.bincount(idx, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid='ignore', divide='ignore'):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        acc = np.bincount(idx, weights=hit, minlength=n_bins) / count
    return dict(count=count.astype(np.int64), confidence=mean_conf, accuracy=acc,
                edges=np.arange(n_bins + 1, dtype=np.float64) / n_bins)


def _ece_from_bins(bins: dict[str, np.ndarray], total: int) -> float:
    filled = bins['count'] > 0
    gaps = np.abs(bins['accuracy'][filled] - bins['confidence'][filled])
    return float(np.sum(bins['count'][filled] / total * gaps))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = DEFAULT_BINS) -> float:
    """Top-label ECE (fraction) of N x C probabilities; NaN for N = 0."""
    probs, labels = _check(probs, labels)
    if labels.size == 0:
        return float('nan')
    pred = probs.argmax(axis=1)
    conf = probs[np.arange(labels.size), pred]
    return _ece_from_bins(reliability_bins(conf, pred == labels, n_bins), labels.size)


def classwise_ece(probs: np.ndarray, labels: np.ndarray, n_bins: int = DEFAULT_BINS) -> float:
    """Classwise ECE (fraction): the mean over the C classes of the binned |frequency - probability| gap."""
    probs, labels = _check(probs, labels)
    if labels.size == 0:
        return float('nan')
    num_classes = probs.shape[1]
    idx = bin_index(probs, n_bins) + n_bins * np.arange(num_classes)[None, :]  # one block of bins per class
    onehot = np.zeros_like(probs)
    onehot[np.arange(labels.size), labels] = 1.0
    size = n_bins * num_classes
    count = np.bincount(idx.ravel(), minlength=size)
    sum_p = np.bincount(idx.ravel(), weights=probs.ravel(), minlength=size)
    sum_y = np.bincount(idx.ravel(), weights=onehot.ravel(), minlength=size)
    filled = count > 0
    gaps = np.abs(sum_y[filled] - sum_p[filled])  # |B| * |freq - mean p| = |sum y - sum p|
    return float(gaps.sum() / labels.size / num_classes)
