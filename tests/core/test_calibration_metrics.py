"""ECE / classwise ECE / reliability bins (ltplug.core.calibration_metrics) against a hand-computed case and a
per-sample loop over exact rational bin bounds (fractions.Fraction); tolerance 1e-12."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from ltplug.core.calibration_metrics import (
    bin_index,
    classwise_ece,
    expected_calibration_error,
    reliability_bins,
)


def _loop_ece(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """Guo et al.'s definition, one bin at a time: lower < conf <= upper with exact rational bounds."""
    conf = probs.max(axis=1)
    pred = probs.argmax(axis=1)
    total = 0.0
    for b in range(n_bins):
        lo, hi = Fraction(b, n_bins), Fraction(b + 1, n_bins)
        members = [i for i in range(len(labels)) if (lo < Fraction(conf[i]) <= hi) or (b == 0 and conf[i] == 0)]
        if members:
            acc = sum(pred[i] == labels[i] for i in members) / len(members)
            mean_conf = sum(conf[i] for i in members) / len(members)
            total += len(members) / len(labels) * abs(acc - mean_conf)
    return total


def _loop_classwise(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    n, c = probs.shape
    total = 0.0
    for k in range(c):
        for b in range(n_bins):
            lo, hi = Fraction(b, n_bins), Fraction(b + 1, n_bins)
            members = [i for i in range(n) if (lo < Fraction(probs[i, k]) <= hi) or (b == 0 and probs[i, k] == 0)]
            if members:
                freq = sum(labels[i] == k for i in members) / len(members)
                mean_p = sum(probs[i, k] for i in members) / len(members)
                total += len(members) / n * abs(freq - mean_p)
    return total / c


def test_hand_computed_ece():
    # two samples at confidence 0.9 (one right) and two at 0.6 (both right), 2 classes:
    # bin (0.8667, 0.9333]: |0.5 - 0.9| * 2/4 = 0.2; bin (0.5333, 0.6]: |1 - 0.6| * 2/4 = 0.2 -> ECE 0.4
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.6, 0.4]])
    labels = np.array([0, 1, 1, 0])
    assert expected_calibration_error(probs, labels) == pytest.approx(0.4, abs=1e-12)


def test_matches_the_per_sample_loop():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 6)) * 2.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 6, size=200)
    assert expected_calibration_error(probs, labels) == pytest.approx(_loop_ece(probs, labels), abs=1e-12)
    assert classwise_ece(probs, labels) == pytest.approx(_loop_classwise(probs, labels), abs=1e-12)
    assert expected_calibration_error(probs, labels, n_bins=10) == pytest.approx(_loop_ece(probs, labels, 10),
                                                                                abs=1e-12)


def test_bins_are_left_open_right_closed():
    edges = np.array([0.0, 1 / 15, 2 / 15, 0.5, 14 / 15, 1.0])
    assert bin_index(edges).tolist() == [0, 0, 1, 7, 13, 14]
    bins = reliability_bins(np.array([0.95, 0.97, 0.1]), np.array([1, 0, 1]))
    assert bins['count'].sum() == 3 and bins['count'][14] == 2 and bins['count'][1] == 1
    assert bins['accuracy'][14] == 0.5 and bins['confidence'][14] == pytest.approx(0.96)
    assert np.isnan(bins['accuracy'][5])  # an empty bin has no accuracy


def test_perfect_calibration_and_errors():
    probs = np.tile([[1.0, 0.0]], (4, 1))
    assert expected_calibration_error(probs, np.zeros(4, int)) == 0.0
    assert classwise_ece(probs, np.zeros(4, int)) == 0.0
    assert np.isnan(expected_calibration_error(np.zeros((0, 3)), np.zeros(0, int)))
    with pytest.raises(ValueError, match='probabilities'):
        expected_calibration_error(np.array([[2.0, -1.0]]), np.array([0]))
    with pytest.raises(ValueError, match=r'\[0, 2\)'):
        expected_calibration_error(np.array([[0.5, 0.5]]), np.array([2]))
