"""Effective-number weights (ltplug.core.class_balanced) against the geometric series summed term by term,
a hand-computed case and the limits beta = 0 (all ones) and beta -> 1 (inverse frequency); tolerances 1e-12 unless
noted."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ltplug.core.class_balanced import (
    class_balanced_weights,
    effective_number,
    inverse_power_weights,
    per_sample_weights,
)


@pytest.mark.parametrize('beta', [0.5, 0.9, 0.999, 0.9999])
def test_effective_number_is_the_geometric_series(beta):
    counts = [1, 2, 7, 50, 300]
    series = [sum(beta ** j for j in range(n)) for n in counts]  # E_n = 1 + beta + ... + beta^(n-1)
    np.testing.assert_allclose(effective_number(counts, beta), series, rtol=1e-12)


def test_hand_computed_weights():
    # beta = 1/2: E_1 = 1, E_2 = 1.5; 1/E = (1, 2/3), sum 5/3 -> times C / sum = (6/5, 4/5)
    np.testing.assert_allclose(class_balanced_weights([1, 2], 0.5), [1.2, 0.8], rtol=1e-14)
    np.testing.assert_allclose(class_balanced_weights([1, 2], 0.5, normalize=False), [1.0, 2 / 3], rtol=1e-14)


def test_limits_and_normalisation():
    counts = np.array([1000, 100, 10, 1])
    np.testing.assert_array_equal(class_balanced_weights(counts, 0.0), np.ones(4))  # DRW's first stage
    w = class_balanced_weights(counts, 1 - 1e-9)
    inv = (1 / counts) / (1 / counts).sum() * 4
    np.testing.assert_allclose(w, inv, rtol=1e-5)  # beta -> 1: inverse frequency (first-order error ~ n (1 - beta))
    assert class_balanced_weights(counts, 0.9999).sum() == pytest.approx(4.0, rel=1e-14)
    # the official rule (kaidic/LDAM-DRW cifar_train.py, 'Reweight'), written out in numpy
    eff = 1.0 - np.power(0.9999, counts)
    official = (1.0 - 0.9999) / eff
    np.testing.assert_allclose(class_balanced_weights(counts, 0.9999), official / official.sum() * 4, rtol=1e-12)


def test_inverse_power_weights():
    np.testing.assert_allclose(inverse_power_weights([4, 1], power=0.5), [2 / 3, 4 / 3], rtol=1e-14)
    np.testing.assert_allclose(inverse_power_weights([10 ** 9, 10 ** 9, 10 ** 9], power=1.0), [1, 1, 1])
    with pytest.raises(ValueError, match='power'):
        inverse_power_weights([1, 2], power=-1)


def test_per_sample_weights_hard_and_soft():
    w = torch.tensor([0.5, 2.0, 4.0], dtype=torch.float64)
    assert per_sample_weights(w, torch.tensor([2, 0, 0])).tolist() == [4.0, 0.5, 0.5]
    soft = torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    assert per_sample_weights(w, soft).tolist() == [0.25 * 0.5 + 0.75 * 2.0, 4.0]
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        per_sample_weights(w, torch.tensor([3]))


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match='no training sample'):
        class_balanced_weights([3, 0], 0.9)
    with pytest.raises(ValueError, match=r'beta must lie in \[0, 1\)'):
        class_balanced_weights([3, 2], 1.0)
