"""Neighbour-silencing loss and mask (ltplug.core.neighbour) against a per-sample float64 reference of Bal_CE_loss."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ltplug.core.neighbour import (
    auxiliary_quota,
    build_neighbour_mask,
    class_prototypes,
    log_prior,
    neighbour_pairs,
    neighbour_silencing_loss,
    propose_neighbours,
    smooth_one_hot,
)

# 3 targets (0..2) + 4 auxiliaries (3..6): target 0 <- aux 3, 4; target 2 <- aux 4, 6; aux 5 unlisted
NMAP = {0: [0, 1], 2: [1, 3]}
COUNTS = np.array([150, 40, 5, 50, 50, 30, 7])


def ref_mask(mask_type, counts=COUNTS, thr=100):
    """Loop reference of Gran_LT generate_mask."""
    m = np.ones((7, 7))
    for t, auxs in NMAP.items():
        if mask_type == 'no_fm' and counts[t] >= thr:
            continue
        for a in auxs:
            m[t, 3 + a] = 0
            m[3 + a, t] = 0
    return m


def ref_loss(logits, labels, mask, counts, tau=1.0, target=None, smoothing=0.0):
    """Per-sample float64 reference with the official -99999 additive mask (one sample at a time)."""
    logits = np.asarray(logits, np.float64)
    n, k = logits.shape
    prior = np.log(counts / counts.sum() + 1e-9)
    out = np.zeros(n)
    for i in range(n):
        z = logits[i] + tau * prior + np.where(mask[labels[i]] == 0, -99999.0, 0.0)
        if target is None:
            t = np.full(k, smoothing / k)
            t[labels[i]] = 1 - smoothing + smoothing / k
        else:
            t = np.asarray(target[i], np.float64) * (1 - smoothing) + smoothing / k
        t = t * mask[labels[i]]
        logp = z - (z.max() + math.log(np.exp(z - z.max()).sum()))
        out[i] = -(t * logp).sum()
    return out


def pairs():
    return neighbour_pairs(NMAP, 3, 4)


def test_pairs_are_shifted_and_validated():
    assert pairs().tolist() == [[0, 3], [0, 4], [2, 4], [2, 6]]
    with pytest.raises(ValueError, match='target ids'):
        neighbour_pairs({3: [0]}, 3, 4)
    with pytest.raises(ValueError, match='auxiliary ids'):
        neighbour_pairs({0: [4]}, 3, 4)
    with pytest.raises(ValueError, match='twice'):
        neighbour_pairs({0: [1, 1]}, 3, 4)


@pytest.mark.parametrize('mask_type', ['no_fm_remove_normal_neg', 'no_fm', 'unmask'])
def test_mask_matches_generate_mask(mask_type):
    got = build_neighbour_mask(pairs(), 7, mask_type, COUNTS)
    ref = np.ones((7, 7)) if mask_type == 'unmask' else ref_mask(mask_type)
    np.testing.assert_array_equal(got.numpy().astype(float), ref)
    if mask_type == 'no_fm':  # target 0 has 150 >= 100 images: its pairs stay; target 2 (5 images) is silenced
        assert bool(got[0, 3]) and bool(got[3, 0]) and not bool(got[2, 4]) and not bool(got[6, 2])
    with pytest.raises(ValueError, match='mask_type'):
        build_neighbour_mask(pairs(), 7, 'normal')
    with pytest.raises(ValueError, match='class counts'):
        build_neighbour_mask(pairs(), 7, 'no_fm')


@pytest.mark.parametrize('mask_type', ['no_fm_remove_normal_neg', 'no_fm', 'unmask'])
@pytest.mark.parametrize('smoothing', [0.0, 0.1])
def test_loss_matches_per_sample_reference(mask_type, smoothing):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(9, 7, generator=g, dtype=torch.float64) * 3
    labels = torch.tensor([0, 1, 2, 3, 4, 5, 6, 0, 2])
    mask = build_neighbour_mask(pairs(), 7, mask_type, COUNTS)
    ref = ref_loss(logits.numpy(), labels.numpy(), mask.numpy().astype(float), COUNTS, smoothing=smoothing)
    got64 = neighbour_silencing_loss(logits, labels, mask, log_prior(COUNTS), 1.0, label_smoothing=smoothing)
    np.testing.assert_allclose(got64.numpy(), ref, rtol=1e-12, atol=1e-12)  # exp(-99999) is 0 in float64 too
    got32 = neighbour_silencing_loss(logits.float(), labels, mask, log_prior(COUNTS), 1.0, label_smoothing=smoothing)
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32.double().numpy(), ref, rtol=2e-6, atol=2e-6)  # float32 round-off


def test_soft_targets_are_masked_not_renormalised():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 7, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 2, 4, 6, 1, 0])
    lam = 0.7  # mixup of each sample with the next one (its partner is sometimes a silenced neighbour)
    partner = labels.roll(-1)
    soft = lam * torch.eye(7, dtype=torch.float64)[labels] + (1 - lam) * torch.eye(7, dtype=torch.float64)[partner]
    mask = build_neighbour_mask(pairs(), 7)
    got = neighbour_silencing_loss(logits, labels, mask, log_prior(COUNTS), 0.5, soft, 0.1)
    ref = ref_loss(logits.numpy(), labels.numpy(), mask.numpy().astype(float), COUNTS, 0.5, soft.numpy(), 0.1)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12, atol=1e-12)
    # sample 4 (class 1, no neighbours) is plain logit-adjusted CE with the smoothed mixed target of mass 1;
    # sample 0 (class 0) mixed with class 2 keeps its full mass, sample 5 (class 0) mixed with class 0 too;
    # sample 1 (class 2) mixed with aux 4 = its neighbour: the 0.3 on class 4 is dropped, not renormalised
    t1 = soft[1] * 0.9 + 0.1 / 7
    t1[4] = 0.0
    t1[6] = 0.0
    logp = torch.log_softmax(logits[1] + 0.5 * log_prior(COUNTS) + torch.where(mask[2], 0.0, -1e30), 0)
    torch.testing.assert_close(got[1], -(t1 * logp).sum())


def test_masked_logits_get_no_gradient_and_leave_the_loss_unchanged():
    logits = torch.randn(4, 7, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 2, 3, 1])
    mask = build_neighbour_mask(pairs(), 7)
    loss = neighbour_silencing_loss(logits, labels, mask, log_prior(COUNTS)).sum()
    loss.backward()
    grad = logits.grad
    assert (grad[~mask[labels]] == 0).all() and (grad[mask[labels]] != 0).all()
    bumped = logits.detach().clone()
    bumped[0, 3] += 50.0  # a silenced neighbour's logit does not matter
    np.testing.assert_allclose(neighbour_silencing_loss(bumped, labels, mask, log_prior(COUNTS)).numpy(),
                               neighbour_silencing_loss(logits.detach(), labels, mask, log_prior(COUNTS)).numpy())


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_inputs_give_no_nan(dtype):
    g = torch.Generator().manual_seed(2)
    logits = (torch.randn(8, 7, generator=g) * 20).to(dtype).requires_grad_()
    labels = torch.tensor([0, 2, 3, 4, 6, 1, 5, 0])
    soft = torch.softmax(torch.randn(8, 7, generator=g), -1).to(dtype)
    mask = build_neighbour_mask(pairs(), 7)
    loss = neighbour_silencing_loss(logits, labels, mask, log_prior(COUNTS), 1.0, soft, 0.1)
    assert loss.dtype == torch.float32 and torch.isfinite(loss).all()
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all()
    ref = ref_loss(logits.detach().double().numpy(), labels.numpy(), mask.numpy().astype(float), COUNTS, 1.0,
                   soft.double().numpy(), 0.1)
    np.testing.assert_allclose(loss.detach().double().numpy(), ref, rtol=1e-5, atol=1e-5)  # same rounded inputs
    # the official form (add -99999 in the half dtype) overflows fp16 to -inf and 0 * -inf = NaN
    if dtype == torch.float16:
        official = logits.detach() + torch.where(mask[labels], 0.0, -99999.0).to(dtype)
        assert torch.isinf(official).any()


def test_prior_smoothing_and_shape_errors():
    np.testing.assert_allclose(log_prior([3, 1, 0]).numpy(), np.log(np.array([0.75, 0.25, 0.0]) + 1e-9))
    t = smooth_one_hot(torch.tensor([1]), 4, 0.2)
    torch.testing.assert_close(t, torch.tensor([[0.05, 0.85, 0.05, 0.05]]))
    mask = build_neighbour_mask(pairs(), 7)
    with pytest.raises(ValueError, match='K=6'):
        neighbour_silencing_loss(torch.randn(2, 6), torch.tensor([0, 1]), mask)
    with pytest.raises(ValueError, match='soft targets'):
        neighbour_silencing_loss(torch.randn(2, 7), torch.tensor([0, 1]), mask, soft_target=torch.rand(2, 6))


def test_auxiliary_quota_rule():
    ref = np.array([500, 101, 100, 60, 21, 20, 3, 500])
    avail = np.array([80, 80, 80, 80, 80, 80, 80, 10])
    # m > 100 -> 50; 20 < m <= 100 -> m; m <= 20 -> 50; capped by what the class has
    np.testing.assert_array_equal(auxiliary_quota(ref, avail), [50, 50, 80, 60, 21, 50, 50, 10])


def test_prototypes_and_band_proposal():
    # targets e0, e1, e2 (counts: many, medium, few); candidates at chosen cosines to them
    t_feats = torch.eye(3, 4, dtype=torch.float64).repeat_interleave(2, 0) * torch.tensor([[1.0], [3.0]]).repeat(3, 1)
    t_labels = torch.arange(3).repeat_interleave(2)
    t_protos = class_prototypes(t_feats, t_labels, 3)
    torch.testing.assert_close(t_protos, torch.eye(3, 4, dtype=torch.float64))

    def at(axis, cos):  # unit vector with cosine `cos` to e_axis
        v = torch.zeros(4, dtype=torch.float64)
        v[axis], v[3] = cos, math.sqrt(1 - cos ** 2)
        return v

    cands = torch.stack([at(0, 0.99), at(0, 0.9), at(0, 0.8), at(1, 0.95), at(1, 0.75), at(1, 0.72),
                         at(2, 0.85), at(2, 0.71), at(2, 0.69)])
    counts = np.array([500, 50, 5])
    nmap, sim = propose_neighbours(t_protos, cands, counts, (0.7, 0.98), (1, 2, 3), 100, 20)
    # many: 1 (0.99 is a near-duplicate, outside the band) -> cand 1; medium: 2 -> 3, 4; few: 3 but only 2 in band
    assert nmap == {0: [1], 1: [3, 4], 2: [6, 7]}
    assert sim.shape == (3, 9)
    # exclusive: a candidate close to two targets goes to the more similar one
    both = torch.tensor([[0.8, 0.55, 0.0, 0.0]], dtype=torch.float64)
    both = both / both.norm()
    ex, _ = propose_neighbours(torch.eye(2, 4, dtype=torch.float64), both, np.array([5, 5]), (0.3, 0.98),
                               exclusive=True)
    assert ex == {0: [0]}
    shared, _ = propose_neighbours(torch.eye(2, 4, dtype=torch.float64), both, np.array([5, 5]), (0.3, 0.98))
    assert shared == {0: [0], 1: [0]}
    with pytest.raises(ValueError, match='no feature for classes'):
        class_prototypes(t_feats, t_labels, 4)
    with pytest.raises(ValueError, match='band'):
        propose_neighbours(t_protos, cands, counts, (0.9, 0.8))
