"""BCL loss (ltplug.core.bcl) against a naive per-anchor float64 reference written from docs/methods.md §3.5,
closed forms and invariances. Tolerances: float64 path vs reference 1e-10 (rel), float32 path 1e-5,
bfloat16 inputs under autocast 1e-6
against the same inputs upcast (the loss itself is computed in float32)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ltplug.core.bcl import bcl_loss


def naive_bcl(features: torch.Tensor, labels: list[int], prototypes: torch.Tensor, tau: float,
              anchors: list[int] | None = None) -> torch.Tensor:
    """Literal per-anchor / per-key transcription of the spec (loops on purpose; differentiable, float64)."""
    keys = [features[j] for j in range(features.shape[0])] + [prototypes[k] for k in range(prototypes.shape[0])]
    key_labels = list(labels) + list(range(prototypes.shape[0]))
    count = {k: key_labels.count(k) for k in range(prototypes.shape[0])}  # N_k: views of class k + its prototype
    anchors = list(range(features.shape[0])) if anchors is None else anchors
    total = features.new_zeros(())
    for i in anchors:
        y = labels[i]
        denom = features.new_zeros(())
        positives = []
        for j, key in enumerate(keys):
            if j == i:
                continue
            same = key_labels[j] == y
            divisor = count[key_labels[j]] - (1 if same else 0)  # the anchor is not a key of its own class
            denom = denom + torch.exp(torch.dot(features[i], key) / tau) / divisor
            if same:
                positives.append(j)
        assert len(positives) == count[y] - 1
        log_denom = torch.log(denom)
        term = sum(torch.dot(features[i], keys[p]) / tau - log_denom for p in positives) / len(positives)
        total = total - term
    return total / len(anchors)


def _data(n_img: int, num_classes: int, dim: int, seed: int, dtype=torch.float64, present: list[int] | None = None):
    g = torch.Generator().manual_seed(seed)
    classes = torch.tensor(present if present is not None else list(range(num_classes)))
    labels = classes[torch.randint(len(classes), (n_img,), generator=g)]
    z = F.normalize(torch.randn(2 * n_img, dim, generator=g, dtype=dtype), dim=1)
    protos = F.normalize(torch.randn(num_classes, dim, generator=g, dtype=dtype), dim=1)
    return z, labels.repeat(2), protos


@pytest.mark.parametrize('n_img,num_classes,dim,tau,seed', [(6, 4, 8, 0.07, 0), (10, 3, 16, 0.1, 1), (5, 7, 4, 0.5, 2)])
def test_forward_and_gradients_match_naive_reference(n_img, num_classes, dim, tau, seed):
    z, y, c = _data(n_img, num_classes, dim, seed)
    z1, c1 = z.clone().requires_grad_(), c.clone().requires_grad_()
    loss = bcl_loss(z1, y, c1, tau)
    loss.backward()
    z2, c2 = z.clone().requires_grad_(), c.clone().requires_grad_()
    ref = naive_bcl(z2, y.tolist(), c2, tau)
    ref.backward()
    assert loss.dtype == torch.float64
    torch.testing.assert_close(loss, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(z1.grad, z2.grad, rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(c1.grad, c2.grad, rtol=1e-9, atol=1e-11)
    assert c1.grad.abs().sum() > 0 and z1.grad.abs().sum() > 0


def test_float32_inputs_match_float64_reference():
    z, y, c = _data(8, 5, 12, seed=3)
    loss = bcl_loss(z.float(), y, c.float(), 0.07)
    assert loss.dtype == torch.float32
    ref = naive_bcl(z, y.tolist(), c, 0.07)
    torch.testing.assert_close(loss.double(), ref, rtol=1e-5, atol=1e-6)


def test_bfloat16_under_autocast_is_computed_in_float32():
    z, y, c = _data(8, 5, 12, seed=4)
    zb, cb = z.to(torch.bfloat16), c.to(torch.bfloat16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = bcl_loss(zb, y, cb, 0.07)
    assert loss.dtype == torch.float32
    ref = naive_bcl(zb.double(), y.tolist(), cb.double(), 0.07)
    torch.testing.assert_close(loss.double(), ref, rtol=1e-6, atol=1e-6)


def test_closed_form_all_keys_identical_gives_log_c():
    """All dot products equal 1: every class contributes exp(1/tau) to D_i, so L_i = log C exactly."""
    num_classes, n_img = 6, 5
    v = F.normalize(torch.randn(1, 16, dtype=torch.float64), dim=1)
    z = v.repeat(2 * n_img, 1)
    c = v.repeat(num_classes, 1)
    y = torch.tensor([0, 0, 1, 3, 3]).repeat(2)
    loss = bcl_loss(z, y, c, 0.07)
    assert loss.item() == pytest.approx(math.log(num_classes), rel=1e-12)


def test_closed_form_two_classes_orthogonal():
    """Two orthogonal directions, one per class, one image of class 0: hand-derived value.

    Keys for anchor v2 (class 0): its v3 twin (dot 1), prototype 0 (dot 1), prototype 1 (dot 0). N_0 = 3 -> divisor 2
    for class-0 keys, N_1 = 1. D = 2 e^{1/tau} / 2 + e^0 / 1 = e^{1/tau} + 1; L = -(1/tau - log(e^{1/tau} + 1)).
    """
    tau = 0.5
    e0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    e1 = torch.tensor([0.0, 1.0], dtype=torch.float64)
    z = torch.stack([e0, e0])
    c = torch.stack([e0, e1])
    loss = bcl_loss(z, torch.tensor([0, 0]), c, tau)
    expected = -(1 / tau - math.log(math.exp(1 / tau) + 1))
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_divisor_excludes_the_anchor_only_for_its_own_class():
    """The naive variant dividing by N_k everywhere (pitfall 1 of docs/methods.md §3.9) gives a different value."""
    z, y, c = _data(6, 3, 8, seed=5)
    tau = 0.1
    ours = bcl_loss(z, y, c, tau)

    keys = torch.cat([z, c])
    key_labels = torch.cat([y, torch.arange(3)])
    counts = torch.bincount(key_labels, minlength=3).double()
    logits = z @ keys.t() / tau
    not_self = ~torch.eye(z.shape[0], keys.shape[0], dtype=torch.bool)
    wrong_denom = (torch.exp(logits) * not_self / counts[key_labels]).sum(1)
    pos = (y[:, None] == key_labels[None]) & not_self
    wrong = -(((logits - wrong_denom.log()[:, None]) * pos).sum(1) / pos.sum(1)).mean()
    assert not torch.isclose(ours, wrong, rtol=1e-4)
    torch.testing.assert_close(ours, naive_bcl(z, y.tolist(), c, tau), rtol=1e-10, atol=1e-12)


def test_invariant_to_permuting_the_batch_and_the_class_ids():
    z, y, c = _data(9, 4, 10, seed=6)
    base = bcl_loss(z, y, c, 0.07)
    perm = torch.randperm(z.shape[0], generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(bcl_loss(z[perm], y[perm], c, 0.07), base, rtol=1e-12, atol=1e-12)
    relabel = torch.tensor([2, 0, 3, 1])  # class k -> relabel[k]; prototype rows moved accordingly
    c_perm = torch.empty_like(c)
    c_perm[relabel] = c
    torch.testing.assert_close(bcl_loss(z, relabel[y], c_perm, 0.07), base, rtol=1e-12, atol=1e-12)


def test_classes_absent_from_the_batch_still_act_through_their_prototypes():
    """Class-complement: absent classes are negatives (their prototype) for every anchor, and get gradients."""
    num_classes = 6
    z, y, c = _data(7, num_classes, 8, seed=7, present=[1, 4])
    c = c.clone().requires_grad_()
    loss = bcl_loss(z, y, c, 0.1)
    loss.backward()
    ref = naive_bcl(z, y.tolist(), c.detach(), 0.1)
    torch.testing.assert_close(loss.detach(), ref, rtol=1e-10, atol=1e-12)
    absent = [k for k in range(num_classes) if k not in (1, 4)]
    assert torch.all(c.grad[absent].norm(dim=1) > 0)
    assert torch.isfinite(loss)


def test_anchor_subset_keeps_all_views_as_keys():
    z, y, c = _data(8, 3, 6, seed=8)
    idx = torch.tensor([1, 4, 9, 15])
    z1 = z.clone().requires_grad_()
    loss = bcl_loss(z1, y, c, 0.2, anchor_index=idx)
    loss.backward()
    z2 = z.clone().requires_grad_()
    ref = naive_bcl(z2, y.tolist(), c, 0.2, anchors=idx.tolist())
    ref.backward()
    torch.testing.assert_close(loss, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(z1.grad, z2.grad, rtol=1e-9, atol=1e-11)
    # the mean over all anchors is the mean of the per-subset means (equal-size subsets), as in distributed training
    halves = [bcl_loss(z, y, c, 0.2, anchor_index=torch.arange(8)),
              bcl_loss(z, y, c, 0.2, anchor_index=torch.arange(8, 16))]
    torch.testing.assert_close((halves[0] + halves[1]) / 2, bcl_loss(z, y, c, 0.2), rtol=1e-12, atol=1e-12)


def test_extreme_temperature_stays_finite():
    """tau = 1e-3 puts logits at +-1000 (exp overflows even in float64): the log-sum-exp form stays finite and agrees
    between float32 and float64."""
    z, y, c = _data(6, 4, 8, seed=9, dtype=torch.float32)
    loss = bcl_loss(z, y, c, 1e-3)
    assert torch.isfinite(loss)
    loss64 = bcl_loss(z.double(), y, c.double(), 1e-3)
    torch.testing.assert_close(loss.double(), loss64, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize('kwargs,match', [
    (dict(labels=torch.tensor([0, 5])), r'labels must lie in \[0, 3\)'),
    (dict(features=torch.full((2, 4), float('nan'))), 'NaN or inf'),
    (dict(prototypes=torch.full((3, 4), float('inf'))), 'prototypes contain NaN'),
    (dict(prototypes=torch.zeros(3, 5)), 'feature dim 4 != prototype dim 5'),
    (dict(labels=torch.tensor([0, 1, 2])), r'labels must be \(N,\)'),
    (dict(labels=torch.tensor([0.0, 1.0])), 'integer class ids'),
    (dict(temperature=0.0), 'temperature must be > 0'),
    (dict(anchor_index=torch.tensor([2])), 'anchor_index must index rows'),
])
def test_bad_inputs_raise_clear_errors(kwargs, match):
    args = dict(features=F.normalize(torch.randn(2, 4), dim=1), labels=torch.tensor([0, 1]),
                prototypes=F.normalize(torch.randn(3, 4), dim=1), temperature=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        bcl_loss(**args)
