"""ltplug.core.vmf against naive float64 per-pair / per-class references built here from mpmath A_d and b."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch

from ltplug.core.bessel import vmf_log_norm, vmf_mean_resultant
from ltplug.core.vmf import (
    OP_SOURCES,
    VMFClassifier,
    aux_loss_weight,
    calibrated_kappa,
    cfc_loss,
    icd_loss,
    icd_loss_and_op,
    overlap_matrix,
    overlap_row_mean,
    parse_aux_losses,
)

mp.mp.dps = 30


def mp_A(d, k):
    v = mp.mpf(d) / 2 - 1
    return float(mp.besseli(v + 1, k) / mp.besseli(v, k))


def mp_b(d, k):
    v = mp.mpf(d) / 2 - 1
    return float(v * mp.log(k) - mp.log(mp.besseli(v, k)) - (v * mp.log(16) - mp.log(mp.besseli(v, 16))))


def random_classes(c=6, d=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(c, d, generator=g, dtype=torch.float64)
    k = torch.rand(c, generator=g, dtype=torch.float64) * 40 + 2
    return w, k


def naive_overlap(w: torch.Tensor, k: torch.Tensor) -> np.ndarray:
    """Per-pair loop in Python floats: O_ij = 1 / (1 + A_i (k_i - k_j mu_i.mu_j) + b_i - b_j)."""
    wn = w.numpy()
    mu = wn / np.linalg.norm(wn, axis=1, keepdims=True)
    c, d = wn.shape
    kk = k.tolist()
    a = [mp_A(d, x) for x in kk]
    b = [mp_b(d, x) for x in kk]
    out = np.empty((c, c))
    for i in range(c):
        for j in range(c):
            kl = a[i] * (kk[i] - kk[j] * float(mu[i] @ mu[j])) + b[i] - b[j]
            out[i, j] = 1.0 / (1.0 + kl)
    return out


def test_aux_loss_weight():
    assert aux_loss_weight(0, 45) == pytest.approx(0.2)
    assert aux_loss_weight(44, 45) == pytest.approx(0.2 * (1 / 45) ** 0.9)
    assert aux_loss_weight(10, 20, base=1.0, power=1.0) == pytest.approx(0.5)
    assert aux_loss_weight(20, 20) == 0.0
    with pytest.raises(ValueError, match='max_epochs'):
        aux_loss_weight(0, 0)
    with pytest.raises(ValueError, match='epoch'):
        aux_loss_weight(-1, 10)


def test_overlap_matrix_matches_naive_reference():
    w, k = random_classes()
    o = overlap_matrix(w, k)
    ref = naive_overlap(w, k)
    np.testing.assert_allclose(o.numpy(), ref, rtol=1e-11, atol=1e-12)
    assert torch.allclose(o.diagonal(), torch.ones(6, dtype=torch.float64), atol=1e-12)
    assert not torch.allclose(o, o.t())  # asymmetric
    assert (o > 0).all() and (o <= 1 + 1e-12).all()


def test_icd_and_op_conventions():
    """ICD: off-diagonal sum over C^2 (not C(C-1)); op: row mean with the diagonal O_ii = 1 included."""
    w, k = random_classes(c=5)
    ref = naive_overlap(w, k)
    c = ref.shape[0]
    icd_ref = sum(ref[i, j] for i in range(c) for j in range(c) if i != j) / c ** 2
    op_ref = [sum(ref[i, j] for j in range(c)) / c for i in range(c)]
    o = overlap_matrix(w, k)
    assert icd_loss(o).item() == pytest.approx(icd_ref, rel=1e-11)
    np.testing.assert_allclose(overlap_row_mean(o).numpy(), op_ref, rtol=1e-11)
    for chunk in (None, 1, 2, 5):
        loss, op = icd_loss_and_op(w, k, chunk_rows=chunk)
        assert loss.item() == pytest.approx(icd_ref, rel=1e-11)
        np.testing.assert_allclose(op.numpy(), op_ref, rtol=1e-11)


def test_chunked_icd_gradients_equal_full():
    w, k = random_classes(c=9, d=16, seed=3)
    grads = []
    for chunk in (None, 2, 4):
        w1, k1 = w.clone().requires_grad_(), k.clone().requires_grad_()
        if chunk is None:
            loss = icd_loss(overlap_matrix(w1, k1))
        else:
            loss, _ = icd_loss_and_op(w1, k1, chunk_rows=chunk)
        grads.append(torch.autograd.grad(loss, (w1, k1)))
    for g in grads[1:]:
        assert torch.allclose(g[0], grads[0][0], rtol=1e-10, atol=1e-14)
        assert torch.allclose(g[1], grads[0][1], rtol=1e-10, atol=1e-14)


def test_icd_gradient_matches_finite_differences():
    """The analytic Bessel gradients make ICD's gradient exact: check it against central differences."""
    w, k = random_classes(c=4, d=8, seed=1)
    w.requires_grad_()
    k.requires_grad_()
    assert torch.autograd.gradcheck(lambda w_, k_: icd_loss(overlap_matrix(w_, k_)), (w, k), eps=1e-6, atol=1e-8)


def naive_cfc(feats, labels, w, k):
    x = feats.numpy() / np.linalg.norm(feats.numpy(), axis=1, keepdims=True)
    wn = w.numpy()
    d = wn.shape[1]
    terms = []
    for c in sorted(set(labels.tolist())):
        s = x[labels.numpy() == c].sum(0)
        m = s / np.linalg.norm(s)
        mu = wn[c] / np.linalg.norm(wn[c])
        kl = mp_A(d, float(k[c])) * float(k[c]) * (1 - float(mu @ m))
        terms.append(1 - 1 / (1 + kl))
    return sum(terms) / len(terms)


def test_cfc_loss_matches_naive_reference():
    w, k = random_classes(c=7, d=12, seed=2)
    g = torch.Generator().manual_seed(5)
    feats = torch.randn(20, 12, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 3, 3, 3, 5, 6, 6, 0] * 2)  # classes 2 and 4 absent
    loss = cfc_loss(feats, labels, w, k)
    assert loss.item() == pytest.approx(naive_cfc(feats, labels, w, k), rel=1e-11)
    # ignore_index drops entries
    lab2 = torch.cat([labels, torch.tensor([255, 255])])
    f2 = torch.cat([feats, torch.randn(2, 12, dtype=torch.float64)])
    assert cfc_loss(f2, lab2, w, k, ignore_index=255).item() == pytest.approx(loss.item(), rel=1e-14)
    # gradients reach features, weights and kappa
    f3, w3, k3 = feats.clone().requires_grad_(), w.clone().requires_grad_(), k.clone().requires_grad_()
    cfc_loss(f3, labels, w3, k3).backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in (f3, w3, k3))
    assert w3.grad[2].abs().sum() == 0  # absent class gets no gradient
    with pytest.raises(ValueError, match='labels must lie'):
        cfc_loss(feats, labels + 3, w, k)


def test_calibrated_kappa_formula():
    kappa = torch.tensor([1.0, 4.0, 9.0, 20.0], dtype=torch.float64)
    op = torch.tensor([0.3, -2.0, 0.1, 5.0], dtype=torch.float64)
    alpha = 0.3
    out = calibrated_kappa(kappa, op, alpha)
    for i in range(4):
        op_scaled = (op[i].item() - (-2.0)) / (5.0 - (-2.0)) * (20.0 - 1.0) + 1.0
        assert out[i].item() == pytest.approx(kappa[i].item() ** alpha * op_scaled ** (1 - alpha), rel=1e-14)
    assert torch.equal(calibrated_kappa(kappa, op, 1.0), kappa)
    assert torch.allclose(calibrated_kappa(kappa, op, 0.0).min(), kappa.min())  # alpha 0: op rescaled into [1, 20]
    with pytest.raises(ValueError, match='constant'):
        calibrated_kappa(kappa, torch.zeros(4, dtype=torch.float64), 0.5)
    with pytest.raises(ValueError, match='alpha'):
        calibrated_kappa(kappa, op, 1.5)


def make_classifier(c=5, d=16, counts=(50, 20, 10, 5, 2), **kw):
    torch.manual_seed(0)
    m = VMFClassifier(d, c, **kw).double()
    if counts is not None:
        m.set_class_counts(list(counts))  # after .double(): log n_c in float64
    return m


def test_init_and_parse():
    m = VMFClassifier(64, 10)
    bound = 1 / 8
    assert m.weight.abs().max() <= bound and m.weight.abs().max() > 0.5 * bound
    assert torch.equal(m.kappa.detach(), torch.full((10,), 16.0))
    assert torch.equal(m.bias, torch.zeros(10))  # b(16) = 0
    assert int(m.op_source) == OP_SOURCES.index('unset') and float(m.calib_alpha) == 1.0
    assert parse_aux_losses('icd+cfc') == (True, True) and parse_aux_losses('none') == (False, False)
    assert parse_aux_losses(['cfc']) == (False, True)
    with pytest.raises(ValueError):
        parse_aux_losses('kl')


def test_training_and_eval_logits():
    m = make_classifier()
    with torch.no_grad():
        m.kappa.copy_(torch.tensor([0.5, 3.0, 16.0, 40.0, 100.0], dtype=torch.float64))  # class 0 below the clamp
    x = torch.randn(2, 3, 16, dtype=torch.float64)
    m.train()
    s_train = m(x)
    assert s_train.shape == (2, 3, 5)
    # naive reference
    xn = x / x.norm(dim=-1, keepdim=True)
    mu = m.weight.detach() / m.weight.detach().norm(dim=1, keepdim=True)
    cos = xn @ mu.t()
    kap = m.kappa.detach().tolist()
    b = torch.tensor([mp_b(16, kk) for kk in kap], dtype=torch.float64)  # raw kappa (0.5) in b
    logn = torch.log(torch.tensor([50.0, 20, 10, 5, 2], dtype=torch.float64))
    ref = cos * torch.tensor([1.0] + kap[1:], dtype=torch.float64) + b + logn  # clamped kappa in the dot term
    assert torch.allclose(s_train, ref, rtol=1e-12, atol=1e-10)
    assert torch.allclose(m.bias, b, atol=1e-10)
    # eval: no prior, stored b
    m.eval()
    s_eval = m(x)
    assert torch.allclose(s_eval, s_train - logn, rtol=1e-13, atol=1e-12)
    # eval keeps the stored b even when kappa moves afterwards (b is a buffer from the last training step)
    with torch.no_grad():
        m.kappa[4] = 50.0
    assert torch.allclose(m(x)[..., 4], cos[..., 4] * 50.0 + b[4], atol=1e-10)


def test_training_gradients():
    """d s_c / d kappa_c = cos * 1[kappa > 1] - A_d(kappa) (through b); the clamp blocks the dot term below 1."""
    m = make_classifier(use_prior=False, counts=None)
    with torch.no_grad():
        m.kappa.copy_(torch.tensor([0.5, 3.0, 16.0, 40.0, 100.0], dtype=torch.float64))
    x = torch.randn(1, 16, dtype=torch.float64)
    s = m(x)
    s.sum().backward()
    cos = m.cosine(x).detach()[0]
    a = vmf_mean_resultant(m.kappa.detach(), 16)
    expected = cos * (m.kappa.detach() > 1).double() - a
    assert torch.allclose(m.kappa.grad, expected, rtol=1e-12, atol=1e-14)


def test_bad_input_errors():
    m = VMFClassifier(16, 5)
    x = torch.randn(3, 16)
    with pytest.raises(ValueError, match='no class counts'):
        m(x)
    m.eval()
    m(x)  # evaluation needs no prior
    m.train()
    m.set_class_counts(np.array([5, 4, 3, 2, 1]))
    assert torch.allclose(m.log_prior, torch.log(torch.tensor([5.0, 4, 3, 2, 1])))
    bad = x.clone()
    bad[1, 2] = float('nan')
    with pytest.raises(ValueError, match='NaN or inf'):
        m(bad)
    with pytest.raises(ValueError, match='channels in the last dim'):
        m(torch.randn(3, 8))
    assert VMFClassifier(16, 5, use_prior=False)(x).shape == (3, 5)


@pytest.mark.parametrize('aux', ['none', 'icd', 'cfc', 'icd+cfc'])
def test_aux_losses_one_call(aux):
    """aux_losses after a training forward: weight * ICD / CFC against the per-pair / per-class mpmath references,
    the CFC features defaulting to the forward's input (ignore_index entries dropped), and the log keys."""
    m = make_classifier(c=5, d=12, aux_loss=aux)
    with torch.no_grad():
        m.kappa.copy_(torch.tensor([2.0, 5.0, 16.0, 30.0, 60.0], dtype=torch.float64))
    g = torch.Generator().manual_seed(4)
    x = torch.randn(3, 4, 12, generator=g, dtype=torch.float64)  # (..., d): e.g. pixels
    labels = torch.tensor([[0, 1, 1, 7], [3, 3, 7, 0], [4, 7, 1, 0]])  # 7 = the ignore index
    m.train()
    m(x)
    out = m.aux_losses(labels=labels, ignore_index=7, weight=0.25)
    w, k = m.weight.detach(), m.kappa.detach()
    keys = {'kappa_mean'}
    if 'icd' in aux:
        ref = naive_overlap(w, k)
        icd_ref = (ref.sum() - np.trace(ref)) / 25
        assert out['loss_icd'].item() == pytest.approx(0.25 * icd_ref, rel=1e-10)
        keys |= {'loss_icd', 'aux_weight'}
    if 'cfc' in aux:
        keep = labels.reshape(-1) != 7
        cfc_ref = naive_cfc(x.reshape(-1, 12)[keep], labels.reshape(-1)[keep], w, k)
        assert out['loss_cfc'].item() == pytest.approx(0.25 * cfc_ref, rel=1e-10)
        assert m.last_features is None  # released after use
        keys |= {'loss_cfc', 'aux_weight'}
    assert set(out) == keys
    assert out['kappa_mean'].item() == pytest.approx(float(k.mean()), rel=1e-14)
    if 'aux_weight' in out:
        assert out['aux_weight'].item() == 0.25
    if aux == 'cfc':  # CFC without a forward that kept the features: a clear error
        with pytest.raises(ValueError, match='CFC loss needs'):
            m.aux_losses(labels=labels)


def test_op_fallback_bias_and_icd():
    m = make_classifier()
    x = torch.randn(4, 16, dtype=torch.float64)
    m.train()
    m(x)
    assert int(m.op_source) == OP_SOURCES.index('bias') and torch.equal(m.op, m.bias)
    m.icd_loss()
    ref = overlap_row_mean(overlap_matrix(m.weight.detach(), m.kappa.detach()))
    assert int(m.op_source) == OP_SOURCES.index('icd') and torch.allclose(m.op, ref, rtol=1e-12)
    m(x)  # once ICD has written op, the forward no longer replaces it with b
    assert int(m.op_source) == OP_SOURCES.index('icd') and torch.allclose(m.op, ref, rtol=1e-12)


def test_op_fallback_overlap():
    m = make_classifier(op_fallback='overlap')
    with torch.no_grad():
        m.kappa.copy_(torch.tensor([2.0, 3.0, 16.0, 40.0, 100.0], dtype=torch.float64))
    m(torch.randn(4, 16, dtype=torch.float64))
    assert int(m.op_source) == OP_SOURCES.index('unset')
    m.eval()
    m.calibrate(0.5)
    op = overlap_row_mean(overlap_matrix(m.weight.detach(), m.kappa.detach()))
    assert int(m.op_source) == OP_SOURCES.index('final_overlap') and torch.allclose(m.op, op, rtol=1e-12)
    assert torch.allclose(m.kappa_calibrated, calibrated_kappa(m.effective_kappa.detach(), op, 0.5), rtol=1e-12)
    with pytest.raises(ValueError, match='never trained'):
        make_classifier().calibrate(0.5)  # bias fallback, no training step: nothing to calibrate with


def test_calibration_in_logits_and_state_dict():
    m = make_classifier()
    with torch.no_grad():
        m.kappa.copy_(torch.tensor([0.7, 3.0, 16.0, 40.0, 100.0], dtype=torch.float64))
    x = torch.randn(6, 16, dtype=torch.float64)
    m(x)
    m.icd_loss()
    m.eval()
    before = m(x)
    b = m.bias.clone()
    m.calibrate(0.4)
    kap = calibrated_kappa(m.kappa.detach().clamp(min=1.0), m.op, 0.4)
    assert torch.allclose(m(x), m.cosine(x) * kap + b, rtol=1e-12)  # b is not recomputed from kappa'
    assert torch.equal(m.bias, b)
    sd = m.state_dict()
    m2 = VMFClassifier(16, 5).double()
    m2.load_state_dict(sd)
    m2.eval()
    assert m2.calibrated and torch.allclose(m2(x), m(x), rtol=1e-14)
    m.calibrate(1.0)
    assert not m.calibrated and torch.allclose(m(x), before, rtol=1e-14)
    # training a calibrated classifier drops the calibration (with a warning)
    m2.train()
    with pytest.warns(UserWarning, match='calibration'):
        m2(x)
    assert not m2.calibrated and float(m2.calib_alpha) == 1.0


def test_large_c_chunked_memory_path():
    """C large enough to need several chunks: the chunked ICD equals the dense one (float32, as in training)."""
    torch.manual_seed(0)
    w = torch.randn(600, 32)
    k = torch.rand(600) * 30 + 1
    dense = icd_loss(overlap_matrix(w.double(), k.double())).item()
    loss, op = icd_loss_and_op(w, k, chunk_rows=128)
    assert loss.item() == pytest.approx(dense, rel=1e-5)
    assert op.shape == (600,) and math.isfinite(op.sum().item())
    assert vmf_log_norm(k, 32).dtype == torch.float32
