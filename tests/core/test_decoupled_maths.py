"""ltplug.core.decoupled: tau-norm, LWS and NCM against hand-computed values and brute-force float64 references."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ltplug.core.decoupled import (
    DEFAULT_TAUS,
    lws_logits,
    ncm_centroids,
    ncm_scores,
    ncm_transform,
    parse_taus,
    tau_norm_logits,
    tau_normalize_weight,
    tau_sweep_predictions,
)

# float64 inputs everywhere below: the references are exact up to rounding, so 1e-12 relative is a safe tolerance
TOL = dict(rtol=1e-12, atol=1e-12)


def test_tau_norm_hand_values():
    # rows of norm 5 and 2; x = (1, 1)
    w = torch.tensor([[3.0, 4.0], [0.0, 2.0]], dtype=torch.float64)
    x = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    # tau = 1: unit rows (0.6, 0.8), (0, 1) -> logits 1.4, 1
    torch.testing.assert_close(tau_normalize_weight(w, 1.0), torch.tensor([[0.6, 0.8], [0.0, 1.0]], dtype=w.dtype),
                               **TOL)
    torch.testing.assert_close(tau_norm_logits(x, w, 1.0), torch.tensor([[1.4, 1.0]], dtype=w.dtype), **TOL)
    # tau = 0.5: divide by sqrt(5), sqrt(2) -> logits 7/sqrt(5), 2/sqrt(2)
    torch.testing.assert_close(tau_norm_logits(x, w, 0.5),
                               torch.tensor([[7 / math.sqrt(5), 2 / math.sqrt(2)]], dtype=w.dtype), **TOL)
    # tau = 2: divide by 25, 4 -> 7/25, 2/4
    torch.testing.assert_close(tau_norm_logits(x, w, 2.0), torch.tensor([[7 / 25, 0.5]], dtype=w.dtype), **TOL)
    # tau = 0: the raw dot product (no bias)
    torch.testing.assert_close(tau_norm_logits(x, w, 0.0), torch.tensor([[7.0, 2.0]], dtype=w.dtype), **TOL)


def test_tau_norm_zero_row_stays_zero():
    w = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    out = tau_normalize_weight(w, 1.0)
    assert torch.isfinite(out).all()
    assert torch.equal(out[0], torch.zeros(2))


def test_default_taus_are_the_official_grid():
    assert len(DEFAULT_TAUS) == 21
    np.testing.assert_allclose(DEFAULT_TAUS, np.linspace(0, 2, 21), atol=1e-15)
    assert 0.7 in DEFAULT_TAUS and DEFAULT_TAUS[7] == 0.7  # exact decimals, usable as config values
    assert parse_taus('0:2:0.1') == DEFAULT_TAUS
    assert parse_taus('0.5:1:0.25') == (0.5, 0.75, 1.0)
    assert parse_taus([0.3, 1]) == (0.3, 1.0)
    with pytest.raises(ValueError, match='start:stop:step'):
        parse_taus('0:2')


@pytest.mark.parametrize('max_elements', [1 << 26, 1])
def test_tau_sweep_matches_a_loop_of_naive_float64(max_elements):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(50, 6, generator=g, dtype=torch.float64)
    w = torch.randn(7, 6, generator=g, dtype=torch.float64) * torch.linspace(0.2, 3.0, 7, dtype=torch.float64)[:, None]
    preds = tau_sweep_predictions(x, w, DEFAULT_TAUS, max_elements=max_elements)
    assert preds.shape == (21, 50)
    xn, wn = x.numpy(), w.numpy()
    for t, tau in enumerate(DEFAULT_TAUS):
        for n in range(xn.shape[0]):
            scores = [sum(xn[n, k] * wn[c, k] for k in range(6)) / math.sqrt(sum(v * v for v in wn[c])) ** tau
                      for c in range(7)]
            assert preds[t, n].item() == int(np.argmax(scores))
    # the sweep changes decisions on this data (scaled rows), so the test is not vacuous
    assert not torch.equal(preds[0], preds[-1])


def test_lws_hand_values():
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    b = torch.tensor([0.5, -1.0], dtype=torch.float64)
    f = torch.tensor([2.0, 0.5], dtype=torch.float64)
    x = torch.tensor([[1.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
    # W x + b = (3.5, 6) and (-1.5, -5); times f = (7, 3) and (-3, -2.5): the bias is scaled too
    torch.testing.assert_close(lws_logits(x, w, b, f), torch.tensor([[7.0, 3.0], [-3.0, -2.5]], dtype=w.dtype), **TOL)
    with pytest.raises(ValueError, match='one per class'):
        lws_logits(x, w, b, torch.ones(3, dtype=torch.float64))


def _brute_force_ncm(feats: np.ndarray, labels: np.ndarray, num_classes: int, query: np.ndarray, feat_type: str,
                     dist_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Loops in float64: transform, per-class mean (no re-normalisation), scores."""
    n, d = feats.shape
    mean = np.zeros(d)
    for i in range(n):
        mean += feats[i]
    mean /= n

    def transform(v):
        if feat_type == 'un':
            return v.copy()
        if feat_type == 'cl2n':
            v = v - mean
        return v / math.sqrt(sum(a * a for a in v))

    cents = np.zeros((num_classes, d))
    for c in range(num_classes):
        members = [transform(feats[i]) for i in range(n) if labels[i] == c]
        cents[c] = sum(members) / len(members)
    scores = np.zeros((query.shape[0], num_classes))
    for i in range(query.shape[0]):
        q = transform(query[i])
        for c in range(num_classes):
            if dist_type == 'l2':
                scores[i, c] = -sum((q[k] - cents[c, k]) ** 2 for k in range(d))
            else:
                scores[i, c] = sum(q[k] * cents[c, k] for k in range(d)) / d
    return cents, scores


@pytest.mark.parametrize('feat_type', ['un', 'l2n', 'cl2n'])
@pytest.mark.parametrize('dist_type', ['l2', 'cos'])
def test_ncm_matches_brute_force(feat_type, dist_type):
    rng = np.random.default_rng(1)
    num_classes, d = 4, 5
    labels = np.concatenate([np.arange(num_classes), rng.integers(0, num_classes, 26)])
    feats = rng.normal(size=(labels.size, d)) + labels[:, None] * 0.7 + 2.0  # offset: centring matters
    query = rng.normal(size=(9, d)) + 2.0
    ref_cents, ref_scores = _brute_force_ncm(feats, labels, num_classes, query, feat_type, dist_type)
    cents, mean = ncm_centroids(torch.from_numpy(feats), torch.from_numpy(labels), num_classes, feat_type)
    np.testing.assert_allclose(cents.numpy(), ref_cents, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mean.numpy(), feats.mean(0), rtol=1e-12, atol=1e-12)
    scores = ncm_scores(torch.from_numpy(query), cents, feat_type, dist_type, mean)
    np.testing.assert_allclose(scores.numpy(), ref_scores, rtol=1e-10, atol=1e-10)
    if feat_type != 'un':  # centroids are means of unit vectors, not re-normalised: strictly inside the unit ball
        assert (cents.norm(dim=1) < 1 - 1e-6).all()


def test_ncm_transform_cl2n_needs_the_mean():
    with pytest.raises(ValueError, match='train_mean'):
        ncm_transform(torch.ones(2, 3), 'cl2n')
    with pytest.raises(ValueError, match='feat_type'):
        ncm_transform(torch.ones(2, 3), 'l1n')


def test_ncm_bad_input():
    feats = torch.randn(6, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match='no training feature'):
        ncm_centroids(feats, torch.tensor([0, 0, 1, 1, 3, 3]), 4)  # class 2 empty
    bad = feats.clone()
    bad[4, 1] = float('nan')
    with pytest.raises(ValueError, match=r'NaN/inf.*\[4\]'):
        ncm_centroids(bad, torch.tensor([0, 1, 0, 1, 0, 1]), 2)
    with pytest.raises(ValueError, match='labels must lie'):
        ncm_centroids(feats, torch.tensor([0, 1, 0, 1, 0, 5]), 2)
    cents, mean = ncm_centroids(feats, torch.tensor([0, 1, 0, 1, 0, 1]), 2)
    with pytest.raises(ValueError, match='dist_type'):
        ncm_scores(feats, cents, 'cl2n', 'l1', mean)
