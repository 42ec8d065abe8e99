"""ltplug.core.bessel against the docs/methods.md §1.4 table, mpmath (computed here, 40 digits) and analytic
gradients."""
from __future__ import annotations

import math

import mpmath as mp
import pytest
import torch

from ltplug.core.bessel import num_cf_terms, vmf_log_norm, vmf_mean_resultant

mp.mp.dps = 40

# docs/methods.md §1.4 (mpmath, 50 digits), b = log C_d(k) - log C_d(16); values are given to 11 significant digits.
TABLE = [
    (64, 1, 1.5621302599e-02, 1.9358803120),
    (64, 16, 2.3640954089e-01, 0.0),
    (64, 128, 7.8302710433e-01, -6.8128944396e+01),
    (512, 16, 3.1219659938e-02, 0.0),
    (512, 64, 1.2311256624e-01, -3.7196184871),
    (2048, 1, 4.8828113370e-04, 6.2253954071e-02),
    (2048, 8, 3.9061904553e-03, 4.6873213758e-02),
    (2048, 16, 7.8120236861e-03, 0.0),
    (2048, 32, 1.5621190880e-02, -1.8747142743e-01),
    (2048, 128, 6.2257981013e-02, -3.9297373047),
]


def mp_v(d: int):
    return mp.mpf(d) / 2 - 1


def mp_A(d: int, k: float):
    v = mp_v(d)
    return mp.besseli(v + 1, k) / mp.besseli(v, k)


def mp_b(d: int, k: float, ref: float = 16.0):
    v = mp_v(d)
    return v * mp.log(k) - mp.log(mp.besseli(v, k)) - (v * mp.log(ref) - mp.log(mp.besseli(v, ref)))


def t64(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize('d,k,a_ref,b_ref', TABLE)
def test_methods_table(d, k, a_ref, b_ref):
    a = vmf_mean_resultant(t64(k), d).item()
    b = vmf_log_norm(t64(k), d).item()
    assert a == pytest.approx(a_ref, rel=1e-9)  # the table's 11 digits
    assert b == pytest.approx(b_ref, abs=2e-9)


D_GRID = (2, 3, 16, 64, 512, 2048)
K_GRID = (1e-3, 1.0, 2.5, 16.0, 100.0, 333.3, 512.0)


@pytest.mark.parametrize('d', D_GRID)
def test_against_mpmath(d):
    """A_d to 1e-12 relative, b to 1e-9 absolute (b needs log I_1023, far below -700 at small kappa: no underflow)."""
    k = t64(*K_GRID)
    a = vmf_mean_resultant(k, d)
    b = vmf_log_norm(k, d)
    for i, kk in enumerate(K_GRID):
        assert a[i].item() == pytest.approx(float(mp_A(d, kk)), rel=1e-12, abs=1e-300), (d, kk)
        assert b[i].item() == pytest.approx(float(mp_b(d, kk)), abs=1e-9), (d, kk)
    assert torch.isfinite(b).all()


@pytest.mark.parametrize('d', (3, 64, 2048))
@pytest.mark.parametrize('k', (1.0, 7.5, 128.0, 512.0))
def test_gradients_match_identities_and_mpmath(d, k):
    kt = t64(k).requires_grad_()
    a = vmf_mean_resultant(kt, d)
    (ga,) = torch.autograd.grad(a.sum(), kt)
    kt2 = t64(k).requires_grad_()
    (gb,) = torch.autograd.grad(vmf_log_norm(kt2, d).sum(), kt2)
    a_val = a.item()
    # the analytic identities the official Function_Apk / Function_Bias use
    assert ga.item() == pytest.approx(1 - (d - 1) / k * a_val - a_val ** 2, rel=1e-12, abs=1e-15)
    assert gb.item() == pytest.approx(-a_val, rel=1e-14)
    # and the true derivatives (mpmath numerical differentiation at 40 digits)
    assert ga.item() == pytest.approx(float(mp.diff(lambda x: mp_A(d, x), k)), rel=1e-9, abs=1e-15)
    assert gb.item() == pytest.approx(float(mp.diff(lambda x: mp_b(d, x), k)), rel=1e-9)


def test_dtype_and_graph():
    k = torch.tensor([1.0, 16.0, 64.0], requires_grad=True)  # float32 parameter, as in the classifier
    b = vmf_log_norm(k, 64)
    a = vmf_mean_resultant(k, 64)
    assert b.dtype == torch.float32 and a.dtype == torch.float32
    (b.sum() + a.sum()).backward()
    assert k.grad is not None and k.grad.dtype == torch.float32 and torch.isfinite(k.grad).all()


def test_parity_at_and_below_zero():
    """Raw kappa may drift through 0: b is even, A odd and finite (the official mpmath path would fail)."""
    k = t64(-3.0, -1e-8, 0.0, 1e-8, 3.0)
    a = vmf_mean_resultant(k, 64)
    b = vmf_log_norm(k, 64)
    assert torch.isfinite(a).all() and torch.isfinite(b).all()
    assert torch.allclose(a, -a.flip(0), rtol=0, atol=1e-15)
    assert torch.allclose(b, b.flip(0), rtol=0, atol=1e-12)
    # b(0) is the limit log(kappa^v / I_v(kappa)) -> log(Gamma(v + 1) 2^v)
    v = 31
    b0 = float(mp.log(mp.gamma(v + 1) * mp.mpf(2) ** v) - (v * mp.log(16) - mp.log(mp.besseli(v, 16))))
    assert b[2].item() == pytest.approx(b0, abs=1e-9)
    kt = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(vmf_mean_resultant(kt, 64).sum(), kt)
    assert g.item() == pytest.approx(1 / 64, rel=1e-12)  # dA/dk at 0 = 1/d


def test_fixed_depth_is_honoured():
    """num_terms=60 is the fixed depth of docs/methods.md §1.4: exact below kappa 128, about 1e-6 off at d=64,
    kappa=512."""
    ref = float(mp_A(64, 512))
    fixed = vmf_mean_resultant(t64(512.0), 64, num_terms=60).item()
    auto = vmf_mean_resultant(t64(512.0), 64).item()
    assert 1e-8 < abs(fixed - ref) / ref < 1e-5
    assert abs(auto - ref) / ref < 1e-14
    assert num_cf_terms(512.0) > 60
    assert vmf_mean_resultant(t64(100.0), 64, num_terms=60).item() == pytest.approx(float(mp_A(64, 100)), rel=1e-14)


def test_bad_input():
    with pytest.raises(ValueError, match='d must be an integer >= 2'):
        vmf_mean_resultant(t64(1.0), 1)
    with pytest.raises(ValueError, match='NaN or inf'):
        vmf_log_norm(t64(1.0, math.nan), 64)
