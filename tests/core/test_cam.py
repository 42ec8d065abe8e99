"""CAM calibration maths (ltplug.core.cam) against float64 loop references and closed forms."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ltplug.core.cam import (
    attention_pool,
    calibrated_weights,
    class_feature_sums,
    class_maps,
    normalize_maps,
    update_prototypes,
)


def _norm_map(v, feats):
    m = (v / np.linalg.norm(v)) @ feats
    rng = m.max() - m.min()
    return np.ones_like(m) if rng <= 1e-6 else (m - m.min()) / rng


def _ref_weights(fmap, classes, weight, protos, valid, beta):
    """Naive float64 reference: one image, one class at a time."""
    fmap, weight = np.asarray(fmap, np.float64), np.asarray(weight, np.float64)
    protos = None if protos is None else np.asarray(protos, np.float64)
    n, d, h, w = fmap.shape
    out = np.zeros((n, h * w))
    for i in range(n):
        feats = fmap[i].reshape(d, -1)
        maps = []
        for c in classes[i]:
            a = _norm_map(weight[c], feats)
            if protos is not None and beta > 0:
                b = beta * float(valid[c])
                a = (1 - b) * a + b * _norm_map(protos[c], feats)
            maps.append(a)
        attn = np.mean(maps, axis=0)
        out[i] = attn / attn.sum()
    return out


@pytest.mark.parametrize('k', [1, 3])
def test_calibrated_weights_match_loop_reference(k):
    g = torch.Generator().manual_seed(0)
    fmap = torch.randn(4, 6, 3, 5, generator=g, dtype=torch.float64)
    weight = torch.randn(7, 6, generator=g, dtype=torch.float64)
    protos = torch.randn(7, 6, generator=g, dtype=torch.float64)
    valid = torch.tensor([1, 0, 1, 1, 0, 1, 1], dtype=torch.bool)  # classes 1 and 4 have no prototype yet
    classes = torch.stack([torch.randperm(7, generator=g)[:k] for _ in range(4)])
    got = calibrated_weights(fmap, classes, weight, protos, valid, 0.3)
    assert got.shape == (4, 15)
    ref = _ref_weights(fmap.numpy(), classes.numpy(), weight.numpy(), protos.numpy(), valid.numpy(), 0.3)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12, atol=1e-14)  # float64 both: round-off only
    np.testing.assert_allclose(got.sum(-1).numpy(), 1.0, rtol=0, atol=1e-12)


def test_shapes_of_every_piece():
    fmap = torch.randn(2, 8, 4, 4)
    vecs = torch.randn(2, 3, 8)
    assert class_maps(fmap, vecs).shape == (2, 3, 16)
    assert normalize_maps(torch.randn(2, 3, 16)).shape == (2, 3, 16)
    w = calibrated_weights(fmap, torch.tensor([[1], [2]]), torch.randn(5, 8))
    assert w.shape == (2, 16)
    assert attention_pool(fmap, w).shape == (2, 8)


def test_uniform_map_gives_global_average_pooling():
    # The class direction e_0 sees the same value at every location (other channels vary): the CAM and the
    # prototype map are constant, so the weights are uniform and the pooled feature is GAP + GAP.
    g = torch.Generator().manual_seed(1)
    fmap = torch.randn(3, 5, 4, 4, generator=g, dtype=torch.float64)
    fmap[:, 0] = 2.5
    weight = torch.zeros(2, 5, dtype=torch.float64)
    weight[:, 0] = 1.0
    attn = calibrated_weights(fmap, torch.zeros(3, 1, dtype=torch.long), weight, weight.clone(),
                              torch.ones(2, dtype=torch.bool), 0.5)
    np.testing.assert_allclose(attn.numpy(), 1.0 / 16, rtol=0, atol=1e-15)
    gap = fmap.mean(dim=(2, 3))
    torch.testing.assert_close(attention_pool(fmap, attn), 2 * gap, rtol=0, atol=1e-14)


def test_minmax_map_range_and_constant_map():
    maps = torch.tensor([[[1.0, 3.0, 2.0], [4.0, 4.0, 4.0]]])
    out = normalize_maps(maps)
    torch.testing.assert_close(out, torch.tensor([[[0.0, 1.0, 0.5], [1.0, 1.0, 1.0]]]))


def test_attention_pool_is_the_weighted_sum_plus_gap():
    fmap = torch.arange(2 * 3 * 2 * 2, dtype=torch.float64).reshape(2, 3, 2, 2)
    w = torch.tensor([[1.0, 0, 0, 0], [0.25, 0.25, 0.5, 0]], dtype=torch.float64)
    ref = torch.stack([fmap[0, :, 0, 0], 0.25 * fmap[1, :, 0, 0] + 0.25 * fmap[1, :, 0, 1] + 0.5 * fmap[1, :, 1, 0]])
    torch.testing.assert_close(attention_pool(fmap, w), ref + fmap.mean(dim=(2, 3)))


def test_ema_prototypes_follow_the_formula():
    protos = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    seen = torch.tensor([3.0, 0.0], dtype=torch.float64)
    feats = torch.tensor([[0.0, 1.0], [0.0, 3.0], [2.0, 2.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1])
    new, new_seen = update_prototypes(protos, seen, *class_feature_sums(feats, labels, 2), momentum=0.9)
    # class 0: 0.9 * (1, 0) + 0.1 * (0, 2); class 1 (first batch): its batch mean
    torch.testing.assert_close(new, torch.tensor([[0.9, 0.2], [2.0, 2.0]], dtype=torch.float64))
    assert new_seen.tolist() == [5.0, 1.0]
