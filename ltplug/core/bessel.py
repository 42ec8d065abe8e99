"""Modified Bessel functions of large order for the von Mises-Fisher (vMF) classifier, in float64 torch.

The official vMF-OP code evaluates I_v(kappa) with mpmath, one class at a time, in every training step, because
I_v(kappa) underflows float64 for the orders a 2048-d feature needs (log I_1023(16) is about -3944). Here everything is
computed in log space, on any device, vectorised over kappa (docs/methods.md §1.4):

* ``log I_v(kappa) - v log kappa`` by the uniform (Debye) asymptotic expansion with four correction terms,
  evaluated at an order >= 64 (error below 1e-11); smaller orders are first shifted up with the exact three-term
  recurrence, using the Bessel ratios of the continued fraction below;
* the ratio ``A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa)`` by the backward recurrence of its continued fraction.

Gradients are the analytic identities the official ``Function_Apk`` / ``Function_Bias`` use (never autograd through the
series), so training matches the reference code: d b / d kappa = -A_d(kappa),
d A_d / d kappa = 1 - (d-1) A_d / kappa - A_d^2. Results come back in the dtype
of ``kappa``; the maths always runs in float64.

Deliberate choices (documented in configs/vmf/README.md):
* v = d/2 - 1 exactly. The official code uses ``p // 2 - 1``, which differs only for odd d (never used in practice),
  where its gradient identity (written with d - 1) would be inconsistent with its forward.
* The normaliser is even and A_d odd in kappa, and both are evaluated through kappa^2 and kappa * q (q = A / kappa),
  so a raw kappa that drifts to 0 or below gives finite values and gradients instead of NaN (mpmath would fail there).
"""
from __future__ import annotations

import functools
import math

import torch

__all__ = ['vmf_mean_resultant', 'vmf_log_norm', 'num_cf_terms', 'DEBYE_MIN_ORDER']

# Orders below this are shifted up by the recurrence before the Debye expansion (4 terms: |error| < 1e-11 from here on).
DEBYE_MIN_ORDER = 64.0


def _validate_d(d: int) -> float:
    """Return v = d/2 - 1 for an integer feature dimension d >= 2."""
    if isinstance(d, bool) or not isinstance(d, int) or d < 2:
        raise ValueError(f'vMF feature dimension d must be an integer >= 2, got {d!r}')
    return d / 2.0 - 1.0


def _as_float64(kappa: torch.Tensor, name: str = 'kappa') -> torch.Tensor:
    if not isinstance(kappa, torch.Tensor):
        raise TypeError(f'{name} must be a torch.Tensor, got {type(kappa).__name__}')
    if not kappa.is_floating_point():
        kappa = kappa.to(torch.get_default_dtype())
    if kappa.numel() and not bool(torch.isfinite(kappa).all()):
        raise ValueError(f'{name} contains NaN or inf values (a diverged vMF concentration?)')
    return kappa.detach().to(torch.float64)


def num_cf_terms(kappa_max: float) -> int:
    """Continued-fraction depth that reaches double precision for |kappa| <= kappa_max at every order v >= 0.

    Measured against mpmath: 40 + 8 sqrt(kappa) terms give relative error < 1e-15 for kappa up to 3e4 (60 terms suffice
    below kappa = 128, which is the fixed depth of docs/methods.md §1.4).
    """
    return int(math.ceil(40.0 + 8.0 * math.sqrt(max(float(kappa_max), 0.0))))


def _debye_f(order: float, k: torch.Tensor) -> torch.Tensor:
    """log I_order(k) - order * log|k| by the uniform asymptotic expansion (order >= DEBYE_MIN_ORDER), written without
    log k so that it is finite and even in k (k = 0 gives the Stirling value -log(Gamma(order + 1) 2^order))."""
    z = k / order
    s = torch.sqrt(1.0 + z * z)
    p = 1.0 / s
    p2 = p * p
    u1 = p * (3.0 - 5.0 * p2) / 24.0
    u2 = p2 * (81.0 + p2 * (-462.0 + 385.0 * p2)) / 1152.0
    u3 = p * p2 * (30375.0 + p2 * (-369603.0 + p2 * (765765.0 - 425425.0 * p2))) / 414720.0
    u4 = p2 * p2 * (4465125.0 + p2 * (-94121676.0 + p2 * (349922430.0 + p2 * (-446185740.0 + 185910725.0 * p2)))) \
        / 39813120.0
    series = 1.0 + (u1 + (u2 + (u3 + u4 / order) / order) / order) / order
    return (order * (s - torch.log1p(s) - math.log(order)) - 0.5 * math.log(2.0 * math.pi * order)
            - 0.5 * torch.log(s) + torch.log(series))


def _bessel_core(v: float, k: torch.Tensor, num_terms: int | None, with_f: bool):
    """Return (f, q) with f = log I_v(k) - v log|k| (None unless ``with_f``) and q = I_{v+1}(k) / (k I_v(k)).

    The backward recurrence q_mu = 1 / (2 (mu + 1) + k^2 q_{mu+1}) runs from order v + m + N down to v; its last m
    iterates are the exact ratios that shift f from order v + m (evaluated by Debye) down to v:
    f(mu) = f(mu + 1) - log q_mu.
    """
    m = int(math.ceil(DEBYE_MIN_ORDER - v)) if (with_f and v < DEBYE_MIN_ORDER) else 0
    if num_terms is None:
        num_terms = num_cf_terms(float(k.abs().max()) if k.numel() else 0.0)
    elif num_terms < 1:
        raise ValueError(f'num_terms must be >= 1, got {num_terms}')
    k2 = k * k
    q = torch.zeros_like(k)
    log_q_sum = torch.zeros_like(k) if m else None
    for j in range(num_terms + m, 0, -1):
        q = 1.0 / (2.0 * (v + j) + k2 * q)  # now q = q_{v + j - 1}
        if j <= m:
            log_q_sum = log_q_sum + torch.log(q)
    if not with_f:
        return None, q
    f = _debye_f(v + m, k)
    if m:
        f = f - log_q_sum
    return f, q


@functools.lru_cache(maxsize=64)
def _f_at(v: float, kappa: float) -> float:
    """f(v, kappa) for one value (the reference point of b), cached: it is the same in every training step."""
    f, _ = _bessel_core(v, torch.tensor([kappa], dtype=torch.float64), None, with_f=True)
    return float(f[0])


class _MeanResultant(torch.autograd.Function):
    """A_d(kappa) with the official analytic gradient 1 - (d-1) A/kappa - A^2 (written with q = A/kappa)."""

    @staticmethod
    def forward(ctx, kappa: torch.Tensor, v: float, num_terms: int | None) -> torch.Tensor:
        _, q = _bessel_core(v, kappa, num_terms, with_f=False)
        a = kappa * q
        ctx.save_for_backward(q, a)
        ctx.d_minus_1 = 2.0 * v + 1.0
        return a

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        q, a = ctx.saved_tensors
        return grad_out * (1.0 - ctx.d_minus_1 * q - a * a), None, None


class _LogNorm(torch.autograd.Function):
    """b(kappa) = log C_d(kappa) - log C_d(ref) with the official gradient -A_d(kappa)."""

    @staticmethod
    def forward(ctx, kappa: torch.Tensor, v: float, ref: float, num_terms: int | None) -> torch.Tensor:
        f, q = _bessel_core(v, kappa, num_terms, with_f=True)
        ctx.save_for_backward(kappa * q)
        # log C_d(k) = v log k - log I_v(k) + const = -f(k) + const
        return _f_at(v, ref) - f

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (a,) = ctx.saved_tensors
        return -grad_out * a, None, None, None


def vmf_mean_resultant(kappa: torch.Tensor, d: int, num_terms: int | None = None) -> torch.Tensor:
    """A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa), the mean resultant length of a d-dim vMF (in [0, 1)).

    Backward continued fraction with ``num_terms`` levels (None: 40 + 8 sqrt(max |kappa|), double precision); custom
    gradient 1 - (d-1) A/kappa - A^2 as in the official ``Function_Apk``. Odd in kappa.
    """
    v = _validate_d(d)
    dtype = kappa.dtype if kappa.is_floating_point() else torch.get_default_dtype()
    k = _as_float64(kappa)
    if kappa.requires_grad:
        k = kappa.to(torch.float64)
    return _MeanResultant.apply(k, v, num_terms).to(dtype)


def vmf_log_norm(kappa: torch.Tensor, d: int, ref: float = 16.0, num_terms: int | None = None) -> torch.Tensor:
    """b(kappa) = log C_d(kappa) - log C_d(ref): the vMF log-normaliser offset to 0 at ``ref`` (the official 16).

    C_d(kappa) = kappa^v / ((2 pi)^{d/2} I_v(kappa)), v = d/2 - 1. The additive constant cancels everywhere b is used
    (logit differences, b_i - b_j). Custom gradient -A_d(kappa), as the official ``Function_Bias``. Even in kappa.
    """
    v = _validate_d(d)
    if not math.isfinite(float(ref)):
        raise ValueError(f'vmf_log_norm: ref must be finite, got {ref}')
    dtype = kappa.dtype if kappa.is_floating_point() else torch.get_default_dtype()
    k = _as_float64(kappa)
    if kappa.requires_grad:
        k = kappa.to(torch.float64)
    return _LogNorm.apply(k, v, float(ref), num_terms).to(dtype)
