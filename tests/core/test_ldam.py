"""LDAM margins and loss (ltplug.core.ldam) against a hand-computed case and a float64 per-sample loop (1e-12)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ltplug.core.ldam import ldam_logits, ldam_loss, ldam_margins


def test_margins_hand_computed():
    # n^(-1/4) of 16, 1, 81 = 1/2, 1, 1/3; scaled so that the largest (n = 1) is max_m = 0.5
    m = ldam_margins([16, 1, 81], max_m=0.5)
    assert m.dtype == torch.float32
    np.testing.assert_allclose(m.numpy(), [0.25, 0.5, 1 / 6], rtol=1e-7)
    assert float(ldam_margins([5, 5]).max()) == pytest.approx(0.5)  # equal counts: every margin is max_m


def _loop_loss(z: np.ndarray, y: np.ndarray, counts: np.ndarray, max_m: float, s: float,
               w: np.ndarray | None) -> tuple[np.ndarray, float]:
    """Per sample: lower the true logit by max_m * (min n / n_y)^(1/4), scale, -log softmax; weighted mean."""
    losses = []
    for i in range(len(y)):
        row = z[i].copy()
        row[y[i]] -= max_m * (counts.min() / counts[y[i]]) ** 0.25
        row = s * row
        m = row.max()
        losses.append(-(row[y[i]] - m - math.log(sum(math.exp(v - m) for v in row))))
    losses = np.array(losses)
    wy = np.ones(len(y)) if w is None else w[y]
    return losses, float((losses * wy).sum() / wy.sum())


@pytest.mark.parametrize('weighted', [False, True])
def test_loss_matches_per_sample_loop(weighted):
    rng = np.random.default_rng(0)
    counts = np.array([500.0, 120.0, 30.0, 7.0, 2.0])
    z = np.tanh(rng.normal(size=(9, 5)))  # cosine-like logits
    y = rng.integers(0, 5, size=9)
    w = rng.uniform(0.2, 3.0, size=5) if weighted else None
    per_sample, mean = _loop_loss(z, y, counts, 0.5, 30.0, w)
    margins = ldam_margins(counts).double()
    zt, yt = torch.from_numpy(z), torch.from_numpy(y)
    wt = None if w is None else torch.from_numpy(w)
    got = ldam_loss(zt, yt, margins, 30.0, class_weight=wt, reduction='mean')
    # the margins are float32 (as the official torch.FloatTensor): compare at float32 precision of m times s
    assert float(got) == pytest.approx(mean, rel=1e-6)
    unweighted = ldam_loss(zt, yt, margins, 30.0, reduction='none')
    np.testing.assert_allclose(unweighted.numpy(), _loop_loss(z, y, counts, 0.5, 30.0, None)[0], rtol=1e-6)


def test_only_the_true_logit_moves():
    z = torch.zeros(2, 3, dtype=torch.float64)
    out = ldam_logits(z, torch.tensor([0, 2]), torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64), scale=2.0)
    np.testing.assert_array_equal(out.numpy(), [[-0.2, 0, 0], [0, 0, -0.6]])


def test_errors():
    with pytest.raises(ValueError, match='no training sample'):
        ldam_margins([3, 0, 2])
    with pytest.raises(ValueError, match='max_m'):
        ldam_margins([3, 2], max_m=0.0)
    with pytest.raises(ValueError, match='3 classes but the margins 2'):
        ldam_logits(torch.zeros(2, 3), torch.tensor([0, 1]), torch.ones(2))
