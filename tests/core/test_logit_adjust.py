"""Logit-adjusted CE (ltplug.core.logit_adjust) against float64 numpy written in the test; tolerance 1e-12 (float64)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ltplug.core.logit_adjust import adjust_logits, log_class_prior, logit_adjusted_cross_entropy


def _np_la_ce(logits: np.ndarray, target: np.ndarray, counts: np.ndarray, tau: float) -> np.ndarray:
    z = logits + tau * np.log(counts / counts.sum())
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(target)), target]


def test_log_prior_values():
    counts = np.array([500, 120, 7, 1])
    prior = log_class_prior(counts)
    assert prior.dtype == torch.float32
    np.testing.assert_allclose(prior.numpy(), np.log(counts / 628.0), rtol=1e-6)


@pytest.mark.parametrize('tau', [0.0, 1.0, 1.5])
def test_matches_numpy_reference(tau):
    rng = np.random.default_rng(0)
    counts = np.array([300, 40, 9, 2, 1])
    logits = rng.normal(size=(7, 5)) * 3
    target = rng.integers(0, 5, size=7)
    prior = torch.from_numpy(np.log(counts / counts.sum()))
    per_sample = logit_adjusted_cross_entropy(torch.from_numpy(logits), torch.from_numpy(target), prior, tau,
                                              reduction='none')
    expected = _np_la_ce(logits, target, counts, tau)
    np.testing.assert_allclose(per_sample.numpy(), expected, rtol=1e-12)
    mean = logit_adjusted_cross_entropy(torch.from_numpy(logits), torch.from_numpy(target), prior, tau)
    assert mean.item() == pytest.approx(expected.mean(), rel=1e-12)
    if tau == 0.0:  # no adjustment: plain cross-entropy
        plain = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(target))
        assert mean.item() == pytest.approx(plain.item(), rel=1e-12)


def test_soft_one_hot_targets_equal_hard_targets():
    rng = np.random.default_rng(1)
    logits = torch.from_numpy(rng.normal(size=(6, 4)))
    target = torch.tensor([0, 3, 1, 1, 2, 0])
    prior = log_class_prior([50, 20, 5, 2]).double()
    hard = logit_adjusted_cross_entropy(logits, target, prior, 1.0, reduction='none')
    soft = logit_adjusted_cross_entropy(logits, F.one_hot(target, 4).double(), prior, 1.0, reduction='none')
    torch.testing.assert_close(hard, soft, rtol=1e-12, atol=1e-12)


def test_adjustment_favours_tail_classes_in_the_gradient():
    """With the prior added, equal logits give the head class more probability, so its CE gradient is larger:
    training pushes head logits down relative to plain CE (the balancing effect)."""
    logits = torch.zeros(1, 3, requires_grad=True)
    prior = log_class_prior([100, 10, 1])
    logit_adjusted_cross_entropy(logits, torch.tensor([2]), prior, 1.0).backward()
    g = logits.grad[0]
    assert g[0] > g[1] > 0 > g[2]


@pytest.mark.parametrize('counts,match', [
    (None, 'missing'),
    ([], 'non-empty'),
    ([[1, 2]], 'non-empty 1-D'),
    ([5, 0, 3], 'no training sample'),
    ([5, -1], '>= 0'),
])
def test_bad_counts_raise(counts, match):
    with pytest.raises(ValueError, match=match):
        log_class_prior(counts, where='test counts')


def test_class_mismatch_and_bad_targets_raise():
    prior = log_class_prior([3, 2, 1])
    with pytest.raises(ValueError, match='logits have 4 classes but the class prior has 3'):
        adjust_logits(torch.zeros(2, 4), prior)
    with pytest.raises(ValueError, match='targets must be'):
        logit_adjusted_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1, 2]), prior)
    with pytest.raises(ValueError, match='soft targets must be'):
        logit_adjusted_cross_entropy(torch.zeros(2, 3), torch.zeros(2, 4), prior)
