"""The blocked symmetric ICD kernel (ltplug.core.overlap_fast) against the plain formula.

Reference: ``icd_loss(overlap_matrix(w, k))`` / ``overlap_row_mean`` with torch autograd through every entry (the
path the official ``get_overlap`` follows), in float64. Tolerances: values rel 1e-12, gradients rel 1e-10 (the
issue's bound), i.e. round-off only.
"""
from __future__ import annotations

import itertools

import pytest
import torch

from ltplug.core.bessel import vmf_log_norm, vmf_mean_resultant
from ltplug.core.overlap_fast import icd_blocks, icd_rows_loss, sample_icd_rows, sampled_icd_loss_and_op
from ltplug.core.vmf import VMFClassifier, icd_loss, icd_loss_and_op, overlap_matrix, overlap_row_mean


def classes(c: int, d: int, seed: int, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(c, d, generator=g, dtype=dtype)
    k = torch.rand(c, generator=g, dtype=dtype) * 40 + 2
    return w, k


def reference(w: torch.Tensor, k: torch.Tensor):
    """(loss, op, dloss/dw, dloss/dk) by autograd through the dense overlap matrix."""
    w1, k1 = w.clone().requires_grad_(), k.clone().requires_grad_()
    o = overlap_matrix(w1, k1)
    loss = icd_loss(o)
    gw, gk = torch.autograd.grad(loss, (w1, k1))
    return loss.detach(), overlap_row_mean(o).detach(), gw, gk


def assert_close(x: torch.Tensor, ref: torch.Tensor, rtol: float) -> None:
    """Relative to the largest entry of the reference (entries near 0 are not compared relative to themselves)."""
    err = (x - ref).abs().max().item()
    assert err <= rtol * ref.abs().max().item(), (err, ref.abs().max().item())


@pytest.mark.parametrize('block', [None, 1, 2, 3, 5, 11, 64])
def test_values_and_gradients_equal_dense_autograd(block):
    """Every block size (1-row blocks, ragged last block, one dense block) gives the dense loss, op and gradients."""
    w, k = classes(11, 7, seed=block or 0)
    loss_ref, op_ref, gw_ref, gk_ref = reference(w, k)
    w1, k1 = w.clone().requires_grad_(), k.clone().requires_grad_()
    loss, op = icd_loss_and_op(w1, k1, chunk_rows=block)
    assert not op.requires_grad
    assert_close(loss.detach(), loss_ref, 1e-12)
    assert_close(op, op_ref, 1e-12)
    gw, gk = torch.autograd.grad(loss, (w1, k1))
    assert_close(gw, gw_ref, 1e-10)
    assert_close(gk, gk_ref, 1e-10)


def test_gradcheck_small_c():
    """Central differences through the hand-written backward (and the analytic Bessel gradients)."""
    w, k = classes(6, 5, seed=7)
    w.requires_grad_()
    k.requires_grad_()
    for block in (2, 6):
        assert torch.autograd.gradcheck(lambda w_, k_, b=block: icd_loss_and_op(w_, k_, chunk_rows=b)[0], (w, k),
                                        eps=1e-6, atol=1e-9)


def test_partial_requires_grad_and_upstream_scale():
    """Only weight, only kappa, and a scaled / composed loss (the upstream gradient multiplies the stored ones)."""
    w, k = classes(9, 6, seed=3)
    _, _, gw_ref, gk_ref = reference(w, k)
    w1 = w.clone().requires_grad_()
    (gw,) = torch.autograd.grad(icd_loss_and_op(w1, k, chunk_rows=4)[0] * 2.5, (w1,))
    assert_close(gw, 2.5 * gw_ref, 1e-10)
    k1 = k.clone().requires_grad_()
    loss, _ = icd_loss_and_op(w, k1, chunk_rows=4)
    (gk,) = torch.autograd.grad(loss * loss, (k1,))
    assert_close(gk, 2 * loss.detach() * gk_ref, 1e-10)


def test_second_backward_of_the_same_graph_recomputes():
    """The first backward hands the stored gradients over (scaled in place); a second backward of the same graph
    (retain_graph) recomputes them, so it neither sees a caller's in-place change of .grad nor scales twice."""
    w, k = classes(9, 6, seed=5)
    _, _, gw_ref, gk_ref = reference(w, k)
    w1, k1 = w.clone().requires_grad_(), k.clone().requires_grad_()
    loss, _ = icd_loss_and_op(w1, k1, chunk_rows=4)
    (3.0 * loss).backward(retain_graph=True)
    assert_close(w1.grad, 3.0 * gw_ref, 1e-10)
    w1.grad.mul_(100.0)  # a caller's in-place change (e.g. gradient clipping) must not leak into the graph
    w1.grad, k1.grad = None, None
    (0.5 * loss).backward()
    assert_close(w1.grad, 0.5 * gw_ref, 1e-10)
    assert_close(k1.grad, 0.5 * gk_ref, 1e-10)


@pytest.mark.parametrize('block, tile', [(3, 3), (8, 2), (7, 3), (5, 4), (11, 11), (6, 256)])
def test_no_grad_path_and_kernel_grads_match_formula(block, tile):
    """Under no_grad the kernel returns no gradients; icd_blocks' own gradients are those of autograd w.r.t. mu, for
    panels of ``block`` rows cut into ``tile`` x ``tile`` tiles (ragged tiles, tiles inside the diagonal block)."""
    w, k = classes(11, 4, seed=5)
    with torch.no_grad():
        loss, op = icd_loss_and_op(w, k)
    loss_ref, op_ref, _, _ = reference(w, k)
    assert_close(loss, loss_ref, 1e-12)
    assert_close(op, op_ref, 1e-12)
    mu = torch.nn.functional.normalize(w, dim=1).requires_grad_()
    a, b = vmf_mean_resultant(k, 4), vmf_log_norm(k, 4)
    a1, k1, b1 = (x.clone().requires_grad_() for x in (a, k, b))
    kl = a1[:, None] * (k1[:, None] - k1[None, :] * (mu @ mu.t())) + b1[:, None] - b1[None, :]
    dense = icd_loss(1.0 / (1.0 + kl))
    ref = torch.autograd.grad(dense, (mu, a1, k1, b1))
    loss, op, grads = icd_blocks(mu.detach(), a, k, b, block=block, grad_mu=True, grad_vec=True, tile=tile)
    assert_close(loss, loss_ref, 1e-12)
    assert_close(op, op_ref, 1e-12)
    for got, want in zip(grads, ref):
        assert_close(got, want, 1e-10)
    loss, op, none = icd_blocks(mu.detach(), a, k, b, block=block, tile=tile)
    assert none is None
    assert_close(loss, loss_ref, 1e-12)


def test_float32_matches_float64():
    """Training runs in float32: the kernel's accumulations stay within float32 round-off of the float64 result."""
    w, k = classes(300, 32, seed=11)
    loss64, op64, gw64, gk64 = reference(w, k)
    w1, k1 = w.float().requires_grad_(), k.float().requires_grad_()
    loss, op = icd_loss_and_op(w1, k1, chunk_rows=64)
    loss.backward()
    assert_close(loss.detach().double(), loss64, 1e-5)
    assert_close(op.double(), op64, 1e-5)
    assert_close(w1.grad.double(), gw64, 1e-4)
    assert_close(k1.grad.double(), gk64, 1e-4)


def test_half_precision_weights_computed_in_float32():
    """bfloat16 weights (mixed precision): the kernel runs in float32 (autocast off) and the gradient keeps the
    weight's dtype; values within bfloat16 input rounding of the float64 result."""
    w, k = classes(40, 16, seed=4)
    wb = w.bfloat16()
    loss_ref, op_ref, _, _ = reference(wb.double(), k)
    w1 = wb.clone().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss, op = icd_loss_and_op(w1, k.float())
    assert loss.dtype == torch.float32 and op.dtype == torch.float32
    assert_close(loss.detach().double(), loss_ref, 1e-5)
    assert_close(op.double(), op_ref, 1e-5)
    loss.backward()
    assert w1.grad.dtype == torch.bfloat16 and bool(torch.isfinite(w1.grad).all())


def test_bad_chunk_rows():
    w, k = classes(4, 3, seed=0)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match='chunk_rows'):
            icd_loss_and_op(w, k, chunk_rows=bad)


# ------------------------------------------------------------------------------------------------ sampled ICD
def test_sample_rows_structure():
    g = torch.Generator().manual_seed(0)
    rows, wt = sample_icd_rows(10, 3, always=torch.tensor([7, 2, 7, 2]), generator=g)
    assert rows[:2].tolist() == [2, 7] and len(set(rows.tolist())) == 5
    assert wt.tolist() == [1.0, 1.0] + [8 / 3] * 3
    rows, wt = sample_icd_rows(10, 50, always=torch.tensor([1]))
    assert sorted(rows.tolist()) == list(range(10)) and bool((wt == 1).all())  # m >= N: every row, weight 1
    with pytest.raises(ValueError, match='positive integer'):
        sample_icd_rows(10, 0)
    with pytest.raises(ValueError, match=r'\[0, 10\)'):
        sample_icd_rows(10, 2, always=torch.tensor([10]))


def test_sampled_icd_is_unbiased_with_the_stated_variance():
    """Exact expectation over every possible sample (enumerated): loss and gradients equal the full ICD (1e-10); the
    variance equals (N / C^2)^2 (1 - m / N) S^2 / m; taking every row gives the full ICD exactly."""
    w, k = classes(7, 5, seed=2)
    always, m = [1, 4], 2
    others = [i for i in range(7) if i not in always]
    n = len(others)
    full, _, gw_full, gk_full = reference(w, k)
    losses, gws, gks = [], [], []
    for subset in itertools.combinations(others, m):
        rows = torch.tensor(always + list(subset))
        wt = torch.tensor([1.0] * len(always) + [n / m] * m, dtype=torch.float64)
        w1, k1 = w.clone().requires_grad_(), k.clone().requires_grad_()
        loss, _ = icd_rows_loss(w1, k1, rows, wt)
        gw, gk = torch.autograd.grad(loss, (w1, k1))
        losses.append(loss.detach())
        gws.append(gw)
        gks.append(gk)
    losses = torch.stack(losses)
    assert_close(losses.mean(), full, 1e-12)
    assert_close(torch.stack(gws).mean(0), gw_full, 1e-10)
    assert_close(torch.stack(gks).mean(0), gk_full, 1e-10)
    o = overlap_matrix(w, k)
    rho = (o.sum(1) - o.diagonal())[others]
    var = (n / 49) ** 2 * (1 - m / n) * rho.var(unbiased=True) / m
    assert_close(losses.var(unbiased=False), var, 1e-10)
    loss, rows, op_rows = sampled_icd_loss_and_op(w, k, num_samples=n, always=torch.tensor(always))
    assert_close(loss, full, 1e-12)
    assert_close(op_rows, overlap_row_mean(o)[rows], 1e-12)


def test_classifier_sampled_icd_running_op():
    """icd_sample > 0: the first step fills op with the full row means, later steps refresh the sampled rows only;
    icd_sample >= C gives the full ICD loss."""
    torch.manual_seed(0)
    m = VMFClassifier(6, 9, icd_sample=2, use_prior=False)
    m.train()
    with torch.no_grad():
        m.kappa.copy_(torch.rand(9) * 20 + 4)
    full_op = icd_loss_and_op(m.weight, m.kappa)[1]
    m.icd_loss(labels=torch.tensor([3, 3]))
    assert torch.allclose(m.op, full_op, rtol=1e-5)  # complete after the first step
    with torch.no_grad():
        m.weight.add_(torch.randn(9, 6))
    before, new_op = m.op.clone(), icd_loss_and_op(m.weight, m.kappa)[1]
    m.icd_loss(labels=torch.tensor([5]))
    changed = (m.op != before).nonzero().flatten().tolist()
    assert 5 in changed and len(changed) <= 3
    assert torch.allclose(m.op[changed], new_op[changed], rtol=1e-5)
    everything = VMFClassifier(6, 9, icd_sample=9, use_prior=False)
    assert torch.allclose(everything.icd_loss(), icd_loss_and_op(everything.weight, everything.kappa)[0], rtol=1e-5)
    from ltplug.vmf_adapter import VMF_HEAD_DEFAULTS, build_vmf_classifier
    args = dict(VMF_HEAD_DEFAULTS, icd_sample=-1)
    with pytest.raises(ValueError, match=r'model\.head\.icd_sample'):  # checked once, at the config boundary
        build_vmf_classifier('model.head', 6, 9, **args)


def test_head_aux_losses_pass_the_batch_classes_to_the_sampled_icd():
    """aux_losses with icd_sample: the batch's valid classes are always rows of the sample (ignored labels dropped),
    so their op entries are refreshed every step."""
    torch.manual_seed(0)
    m = VMFClassifier(6, 9, icd_sample=1, use_prior=False, aux_loss='icd')
    m.train()
    m.aux_losses(labels=torch.tensor([0]))  # first step: full op
    with torch.no_grad():
        m.weight.add_(torch.randn(9, 6))
    new_op = icd_loss_and_op(m.weight, m.kappa)[1]
    out = m.aux_losses(labels=torch.tensor([[7, 255], [2, 255]]), ignore_index=255)
    assert torch.isfinite(out['loss_icd'])
    assert torch.allclose(m.op[[2, 7]], new_op[[2, 7]], rtol=1e-5)
