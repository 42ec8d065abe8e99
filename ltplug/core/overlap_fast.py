"""The ICD loss and the op vector at the cost of about one C x C x d product (docs/methods.md §1.5).

``icd_loss_and_op`` in :mod:`ltplug.core.vmf` calls :func:`icd_blocks` here. The overlap O_ij = 1 / (1 + KL_ij),
KL_ij = A_i (k_i - k_j c_ij) + b_i - b_j, depends on the weights only through c = mu mu^T, which is symmetric: one
block c_IJ = mu_I mu_J^T (J >= I) gives both O_IJ and O_JI (the latter read in c_IJ's layout, never transposed), so the
forward costs half a C x C x d product plus O(C^2) elementwise work on cache-sized blocks; no C x C tensor is ever
allocated (extra memory: a few block x block tiles plus C-vectors and, with gradients, one C x d accumulator).

Gradients (written with W_ij = O_ij^2 off the diagonal, 0 on it; dL/dKL_ij = -W_ij / C^2):
* dL/dc_ij = W_ij a_i k_j / C^2 =: H_ij / C^2, so dL/dmu = (H + H^T) mu / C^2: ONE C x C x d product in total, done
  block by block during the forward pass (grad_I += S_IJ mu_J, grad_J += S_IJ^T mu_I with S_IJ = H_IJ + H_JI^T);
* dL/da_i = (t_i - k_i r_i) / C^2, dL/dk_i = (s_i - a_i r_i) / C^2, dL/db_i = (q_i - r_i) / C^2, with the row sums
  r_i = sum_j W_ij, column sums q_j = sum_i W_ij, t_i = sum_j W_ij c_ij k_j and s_j = sum_i W_ij c_ij a_i.
Because the loss is a scalar and the op vector carries no gradient, everything the backward needs is a C x d matrix and
four C-vectors known at the end of the forward: the backward only scales them by the incoming gradient (no
recomputation, no C x C storage). The price: with gradients enabled the forward call does the backward's product too,
so ``forward + backward`` is the figure to compare (about 1.5 products), while a forward under ``torch.no_grad`` (the
calibration statistics) costs about half a product.
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

__all__ = ['icd_blocks', 'IcdFunction', 'DEFAULT_BLOCK']

# Rows per block: 512 x 512 float32 tiles (1 MiB) stay in cache for the elementwise passes, and 512 x d x 512 products
# still run near the GEMM peak. The triangle of blocks costs (1 + 1/n) / 2 of the full product for n blocks per side.
DEFAULT_BLOCK = 512


def _directed_block(cos: torch.Tensor, e_row: torch.Tensor, b_col: torch.Tensor, a_row: torch.Tensor,
                    k_col: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(O, a_row k_col) for one direction of a block, in ``cos``'s layout.

    O = 1 / ((e_row - b_col) - a_row k_col cos) with e = 1 + a k + b: the vectors are shaped (n, 1) / (1, m) so that the
    same code gives O_IJ (rows broadcast along dim 0) and O_JI read transposed (rows broadcast along dim 1).
    """
    ak = a_row * k_col
    o = (e_row - b_col).addcmul_(ak, cos, value=-1.0)
    return o.reciprocal_(), ak


def _block_grads(o: torch.Tensor, ak: torch.Tensor, cos: torch.Tensor, a_row: torch.Tensor, k_col: torch.Tensor,
                 row_dim: int, diagonal: bool, acc: dict[str, torch.Tensor], rows: slice, cols: slice) -> torch.Tensor:
    """Accumulate r, q, t, s of one direction (module docstring) and return its H tile (overwrites ``o``).

    ``row_dim`` is the dimension of ``o`` indexed by the overlap's first class i (0 for O_IJ, 1 for O_JI read
    transposed); ``rows`` / ``cols`` are the class ranges of that first / second index.
    """
    w = o.square_()
    if diagonal:
        w.fill_diagonal_(0.0)
    col_dim = 1 - row_dim
    acc['r'][rows] += w.sum(dim=col_dim)
    acc['q'][cols] += w.sum(dim=row_dim)
    wc = w * cos
    k_vec, a_vec = k_col.reshape(-1), a_row.reshape(-1)
    if row_dim == 0:
        acc['t'][rows] += wc @ k_vec
        acc['s'][cols] += a_vec @ wc
    else:
        acc['t'][rows] += k_vec @ wc
        acc['s'][cols] += wc @ a_vec
    return w.mul_(ak)


def icd_blocks(mu: torch.Tensor, a: torch.Tensor, k: torch.Tensor, b: torch.Tensor, block: int = DEFAULT_BLOCK,
               grad_mu: bool = False, grad_vec: bool = False):
    """ICD loss, op vector and (optionally) the loss's gradients from normalised weights ``mu`` (C, d) and the
    per-class A_d(kappa) ``a``, raw kappa ``k``, log-normaliser ``b`` (C,) (all in ``mu``'s dtype).

    Returns ``(loss, op, grads)``: loss = sum_{i != j} O_ij / C^2 (0-dim), op_i = sum_j O_ij / C (diagonal included),
    grads = (dL/dmu or None, dL/da, dL/dk, dL/db) when ``grad_mu`` / ``grad_vec`` ask for them, else None.
    Blocks of ``block`` rows; block >= C is one dense block.
    """
    c = mu.shape[0]
    block = max(1, int(block))
    e = 1.0 + a * k + b
    row_sum = mu.new_zeros(c)
    diag_sum = mu.new_zeros(())
    want = grad_mu or grad_vec
    acc = {key: mu.new_zeros(c) for key in 'rqts'} if want else {}
    g_mu = torch.zeros_like(mu) if grad_mu else None
    starts = list(range(0, c, block))
    col = {}  # per block: (e, a, k, b) as (1, m) rows for the transposed direction, (m, 1) columns for the direct one
    for st in starts:
        sl = slice(st, min(c, st + block))
        col[st] = (sl, e[sl, None], a[sl, None], k[sl, None], b[sl, None], e[None, sl], a[None, sl], k[None, sl],
                   b[None, sl])
    for bi, si in enumerate(starts):
        sl_i, e_i, a_i, k_i, b_i, e_it, a_it, k_it, b_it = col[si]
        mu_i = mu[sl_i]
        for sj in starts[bi:]:
            sl_j, _, _, _, _, e_jt, a_jt, k_jt, b_jt = col[sj]
            mu_j = mu[sl_j]
            cos = mu_i @ mu_j.t()
            diagonal = sj == si
            # O_IJ: rows i in I, columns j in J
            o, ak = _directed_block(cos, e_i, b_jt, a_i, k_jt)
            row_sum[sl_i] += o.sum(dim=1)
            if diagonal:
                diag_sum += o.diagonal().sum()
            else:
                # O_JI read in cos's layout: entry (p, q) is O_{J_q, I_p}
                o2, ak2 = _directed_block(cos, e_jt, b_i, a_jt, k_i)
                row_sum[sl_j] += o2.sum(dim=0)
            if not want:
                continue
            h = _block_grads(o, ak, cos, a_i, k_jt, 0, diagonal, acc, sl_i, sl_j)
            if diagonal:
                if grad_mu:
                    g_mu[sl_i].addmm_(h + h.t(), mu_i)
                continue
            h.add_(_block_grads(o2, ak2, cos, a_jt, k_i, 1, False, acc, sl_j, sl_i))
            if grad_mu:
                g_mu[sl_i].addmm_(h, mu_j)
                g_mu[sl_j].addmm_(h.t(), mu_i)
    scale = 1.0 / float(c * c)
    loss = (row_sum.sum() - diag_sum) * scale
    op = row_sum / c
    if not want:
        return loss, op, None
    r, q, t, s = acc['r'], acc['q'], acc['t'], acc['s']
    grads = (g_mu.mul_(scale) if grad_mu else None, (t - k * r) * scale, (s - a * r) * scale, (q - r) * scale)
    return loss, op, grads


class IcdFunction(torch.autograd.Function):
    """(loss, op) = ICD of (mu, a, k, b) with the gradients computed in the forward pass (see the module docstring).

    ``op`` is not differentiable. First-order only (``once_differentiable``).
    """

    @staticmethod
    def forward(ctx, mu: torch.Tensor, a: torch.Tensor, k: torch.Tensor, b: torch.Tensor, block: int):
        need = ctx.needs_input_grad
        loss, op, grads = icd_blocks(mu, a, k, b, block, grad_mu=need[0], grad_vec=any(need[1:4]))
        ctx.mark_non_differentiable(op)
        if grads is None:
            ctx.save_for_backward()
        else:
            g_mu, g_a, g_k, g_b = grads
            ctx.has_mu = g_mu is not None
            ctx.save_for_backward(*(([g_mu] if ctx.has_mu else []) + [g_a, g_k, g_b]))
        return loss, op

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss: torch.Tensor, grad_op: torch.Tensor | None):
        saved = list(ctx.saved_tensors)
        if not saved:
            return None, None, None, None, None
        g_mu = saved.pop(0) * grad_loss if ctx.has_mu else None
        g_a, g_k, g_b = (x * grad_loss for x in saved)
        need = ctx.needs_input_grad
        return g_mu, g_a if need[1] else None, g_k if need[2] else None, g_b if need[3] else None, None
