"""The ICD loss and the op vector at the cost of about one C x C x d product (docs/methods.md §1.5).

``icd_loss_and_op`` in :mod:`ltplug.core.vmf` calls :func:`icd_blocks` here. The overlap O_ij = 1 / (1 + KL_ij),
KL_ij = A_i (k_i - k_j c_ij) + b_i - b_j, depends on the weights only through c = mu mu^T, which is symmetric: one
block c_IJ = mu_I mu_J^T (J >= I) gives both O_IJ and O_JI (the latter read in c_IJ's layout, never transposed). Each
block-row I computes its panel c[I, I:] with one product, so the forward costs (1 + 1/n) / 2 of a C x C x d product
for n block-rows, plus O(C^2) elementwise work on L2-sized tiles of the panel; no C x C tensor is ever allocated
(extra memory: two block x C panels, a few tiles, C-vectors and, with gradients, one C x d accumulator).

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

__all__ = ['icd_blocks', 'IcdFunction', 'DEFAULT_BLOCK', 'DEFAULT_TILE', 'default_block_tile', 'kl_rows',
           'icd_rows_loss', 'sample_icd_rows', 'sampled_icd_loss_and_op']

# Rows per panel (block-row): 512-row panels run the products near the GEMM peak and keep the triangle's waste (the
# diagonal blocks, computed whole) small; 256 and 1024 measured slower at C = 4096 (issue 14).
DEFAULT_BLOCK = 512
# Elementwise work runs on tile x tile pieces of the panel (buffers reused, never reallocated). Measured on the idle
# 2-core VM (benchmarks/bench_vmf.py --tiles 256 128, docs/benchmarks_raw/bench_vmf_tiles.txt, d = 2048): forward +
# backward took 2.12x / 1.89x the product at C = 4096 / 8142 with 512-tiles, 2.22x / 1.92x with 256-tiles, 2.53x /
# 2.29x with 128-tiles: fewer, larger tiles mean fewer op launches and better-parallelised elementwise passes.
DEFAULT_TILE = 512
# On an accelerator the cost is kernel launches, not cache misses: few, large panels and tiles (4096 x 4096 float32 =
# 64 MiB per buffer, about 8 such tensors at a time). Not measured on a GPU in this project yet.
ACCEL_BLOCK = 4096


def default_block_tile(device: torch.device) -> tuple[int, int]:
    """(panel rows, tile size) of :func:`icd_blocks` for ``device``: cache-sized on the CPU, large elsewhere."""
    return (DEFAULT_BLOCK, DEFAULT_TILE) if device.type == 'cpu' else (ACCEL_BLOCK, ACCEL_BLOCK)
_EPS = 1e-12  # F.normalize's default eps


def kl_rows(mu_rows, mu_all, a_rows, k_rows, k_all, b_rows, b_all) -> torch.Tensor:
    """KL(vMF_i || vMF_j) = A_i (k_i - k_j mu_i.mu_j) + b_i - b_j, rows i of a block against all j (appendix eq. 5)."""
    cos = mu_rows @ mu_all.t()
    return a_rows[:, None] * (k_rows[:, None] - k_all[None, :] * cos) + (b_rows[:, None] - b_all[None, :])


class _Tiles:
    """Reusable tile x tile buffers (out= targets), so the elementwise passes never allocate tile-sized tensors."""

    def __init__(self, like: torch.Tensor, tile: int, names: tuple[str, ...]) -> None:
        self.buf = {name: like.new_empty(tile * tile) for name in names}

    def __call__(self, name: str, n: int, m: int) -> torch.Tensor:
        return self.buf[name][:n * m].view(n, m)


def _directed_block(cos: torch.Tensor, e_row: torch.Tensor, b_col: torch.Tensor, a_row: torch.Tensor,
                    k_col: torch.Tensor, o: torch.Tensor, ak: torch.Tensor) -> None:
    """O and a_row k_col of one direction of a block, in ``cos``'s layout, written into ``o`` and ``ak``.

    O = 1 / ((e_row - b_col) - a_row k_col cos) with e = 1 + a k + b: the vectors are shaped (n, 1) / (1, m) so that the
    same code gives O_IJ (rows broadcast along dim 0) and O_JI read transposed (rows broadcast along dim 1).
    """
    torch.mul(a_row, k_col, out=ak)
    torch.sub(e_row, b_col, out=o)
    o.addcmul_(ak, cos, value=-1.0).reciprocal_()


def _block_grads(o: torch.Tensor, ak: torch.Tensor, cos: torch.Tensor, a_row: torch.Tensor, k_col: torch.Tensor,
                 row_dim: int, diagonal: bool, acc: dict[str, torch.Tensor], rows: slice, cols: slice,
                 wc: torch.Tensor, h_out: torch.Tensor | None, add: bool) -> None:
    """Accumulate r, q, t, s of one direction (module docstring) and write (``add``: add) its H tile into ``h_out``.

    ``row_dim`` is the dimension of ``o`` indexed by the overlap's first class i (0 for O_IJ, 1 for O_JI read
    transposed); ``rows`` / ``cols`` are the class ranges of that first / second index. Overwrites ``o`` with W.
    """
    w = o.square_()
    if diagonal:
        w.fill_diagonal_(0.0)
    col_dim = 1 - row_dim
    acc['r'][rows] += w.sum(dim=col_dim)
    acc['q'][cols] += w.sum(dim=row_dim)
    torch.mul(w, cos, out=wc)
    k_vec, a_vec = k_col.reshape(-1), a_row.reshape(-1)
    if row_dim == 0:
        acc['t'][rows] += wc @ k_vec
        acc['s'][cols] += a_vec @ wc
    else:
        acc['t'][rows] += k_vec @ wc
        acc['s'][cols] += wc @ a_vec
    if h_out is not None:
        if add:
            h_out.addcmul_(w, ak)
        else:
            torch.mul(w, ak, out=h_out)


def _tile(tiles: _Tiles, cos: torch.Tensor, e_row, b_col, a_row, k_col, row_dim: int, diagonal: bool,
          row_sum: torch.Tensor, acc: dict[str, torch.Tensor], rows: slice, cols: slice, want: bool,
          s_tile: torch.Tensor | None, add: bool) -> torch.Tensor | None:
    """One direction of one tile: its overlaps' row sums into ``row_sum``, and with ``want`` r, q, t, s and its H
    (written / added into ``s_tile``). Returns the diagonal sum of O for a diagonal tile. The buffers are reused by the
    next direction, so the working set (cos, O, ak, W c, S) stays in the L2 cache."""
    n, m = cos.shape
    o, ak = tiles('o', n, m), tiles('ak', n, m)
    _directed_block(cos, e_row, b_col, a_row, k_col, o, ak)
    row_sum[rows] += o.sum(dim=1 - row_dim)
    diag = o.diagonal().sum() if diagonal else None
    if want:
        h = tiles('h', n, m) if diagonal and s_tile is not None else s_tile
        _block_grads(o, ak, cos, a_row, k_col, row_dim, diagonal, acc, rows, cols, tiles('wc', n, m), h,
                     add and not diagonal)
        if diagonal and s_tile is not None:
            torch.add(h, h.t(), out=s_tile)
    return diag


def icd_blocks(mu: torch.Tensor, a: torch.Tensor, k: torch.Tensor, b: torch.Tensor, block: int = DEFAULT_BLOCK,
               grad_mu: bool = False, grad_vec: bool = False, scale_grad_mu: bool = True, tile: int = DEFAULT_TILE):
    """ICD loss, op vector and (optionally) the loss's gradients from normalised weights ``mu`` (C, d) and the
    per-class A_d(kappa) ``a``, raw kappa ``k``, log-normaliser ``b`` (C,) (all in ``mu``'s dtype).

    Returns ``(loss, op, grads)``: loss = sum_{i != j} O_ij / C^2 (0-dim), op_i = sum_j O_ij / C (diagonal included),
    grads = (dL/dmu or None, dL/da, dL/dk, dL/db) when ``grad_mu`` / ``grad_vec`` ask for them, else None.
    Block-row I (``block`` rows) computes its panel c[I, I:] = mu_I mu[I:]^T with one product, then works on
    ``tile`` x ``tile`` tiles of its upper triangle; with ``grad_mu`` the tiles' S = H + H^T fill a panel of the same
    shape, which enters dL/dmu through two products (rows I, and the transposed part for the rows below).
    ``scale_grad_mu=False`` leaves dL/dmu multiplied by C^2 (the caller folds the 1 / C^2 into a later pass).
    """
    c = mu.shape[0]
    block = max(1, min(int(block), c))
    tile = max(1, min(int(tile), block))
    e = 1.0 + a * k + b
    row_sum = mu.new_zeros(c)
    diag_sum = mu.new_zeros(())
    want = grad_mu or grad_vec
    acc = {key: mu.new_zeros(c) for key in 'rqts'} if want else {}
    g_mu = torch.empty_like(mu) if grad_mu else None  # the first panel writes every row (no zero fill)
    tiles = _Tiles(mu, tile, ('o', 'ak', 'wc', 'h') if want else ('o', 'ak'))
    # one buffer for every panel (and one for S): a fresh block x C tensor per panel costs page faults, not only time
    panel_buf = mu.new_empty(block * c)
    s_buf = mu.new_empty(block * c) if grad_mu else None
    for si in range(0, c, block):
        ei = min(c, si + block)
        sl_i = slice(si, ei)
        mu_i = mu[sl_i]
        n_el = (ei - si) * (c - si)
        panel = torch.mm(mu_i, mu[si:].t(), out=panel_buf[:n_el].view(ei - si, c - si))  # c[I, I:]
        s_panel = s_buf[:n_el].view(ei - si, c - si) if grad_mu else None
        for ri in range(si, ei, tile):  # tile rows [ri, ri + tile) of the panel, tiles from their diagonal on
            sl_r = slice(ri, min(ei, ri + tile))
            e_r, a_r, k_r, b_r = e[sl_r, None], a[sl_r, None], k[sl_r, None], b[sl_r, None]
            pr = slice(ri - si, sl_r.stop - si)
            for sj in [ri, *range(sl_r.stop, c, tile)]:  # the first tile is the square diagonal one
                sl_j = sl_r if sj == ri else slice(sj, min(c, sj + tile))
                pc = slice(sj - si, sl_j.stop - si)
                cos = panel[pr, pc]
                s_tile = s_panel[pr, pc] if grad_mu else None
                diagonal = sj == ri
                # O for rows sl_r against columns sl_j (row_dim 0); then, off the diagonal, O for rows sl_j against
                # columns sl_r read in the same layout (row_dim 1): entry (p, q) is O_{J_q, R_p}
                diag = _tile(tiles, cos, e_r, b[None, sl_j], a_r, k[None, sl_j], 0, diagonal, row_sum, acc, sl_r,
                             sl_j, want, s_tile, add=False)
                if diagonal:
                    diag_sum += diag
                else:
                    _tile(tiles, cos, e[None, sl_j], b_r, a[None, sl_j], k_r, 1, False, row_sum, acc, sl_j, sl_r,
                          want, s_tile, add=True)
            if grad_mu and ri > si:  # the panel's lower triangle inside the diagonal block: S is symmetric
                s_panel[pr, :ri - si] = s_panel[:ri - si, pr].t()
        if grad_mu:
            if si == 0:
                torch.mm(s_panel, mu, out=g_mu[sl_i])
                if ei < c:
                    torch.mm(s_panel[:, ei:].t(), mu_i, out=g_mu[ei:])
            else:
                g_mu[sl_i].addmm_(s_panel, mu[si:])
                if ei < c:
                    g_mu[ei:].addmm_(s_panel[:, ei - si:].t(), mu_i)
    scale = 1.0 / float(c * c)
    loss = (row_sum.sum() - diag_sum) * scale
    op = row_sum / c
    if not want:
        return loss, op, None
    r, q, t, s = acc['r'], acc['q'], acc['t'], acc['s']
    if grad_mu and scale_grad_mu:
        g_mu.mul_(scale)
    grads = (g_mu, (t - k * r) * scale, (s - a * r) * scale, (q - r) * scale)
    return loss, op, grads


def _normalize_backward(g_mu: torch.Tensor, mu: torch.Tensor, norm: torch.Tensor, scale: float) -> torch.Tensor:
    """scale * dL/dw from dL/dmu for mu = w / max(|w|, eps) (F.normalize), in place on ``g_mu``:
    (g - mu (mu.g)) * scale / |w| (rows with |w| <= eps: g * scale / eps, as F.normalize)."""
    proj = torch.bmm(g_mu.unsqueeze(1), mu.unsqueeze(2)).view(-1, 1)  # row dot products, no C x d temporary
    proj.masked_fill_(norm <= _EPS, 0.0)
    return g_mu.addcmul_(mu, proj, value=-1.0).mul_(scale / norm.clamp_min(_EPS))


class IcdFunction(torch.autograd.Function):
    """(loss, op) = ICD of (weight, a, k, b), mu = F.normalize(weight) inside, with every gradient computed in the
    forward pass (see the module docstring). ``op`` is not differentiable.

    First-order only (``once_differentiable``). The first backward scales the stored gradients in place and hands them
    over (no C x d copy: a fresh C x d tensor costs page faults on every step); a later backward of the same graph
    (``retain_graph=True``, gradcheck) recomputes them from the saved inputs.
    """

    @staticmethod
    def forward(ctx, weight: torch.Tensor, a: torch.Tensor, k: torch.Tensor, b: torch.Tensor, block: int, tile: int):
        loss, op, grads = IcdFunction._run(weight, a, k, b, block, tile, ctx.needs_input_grad)
        ctx.mark_non_differentiable(op)
        ctx.save_for_backward(weight, a, k, b)
        ctx.block, ctx.tile = block, tile
        ctx.grads = grads  # plain attribute: intermediate results, not inputs / outputs (nothing to version-check)
        return loss, op

    @staticmethod
    def _run(weight, a, k, b, block: int, tile: int, need):
        norm = weight.norm(dim=1, keepdim=True)
        mu = weight / norm.clamp_min(_EPS)
        loss, op, grads = icd_blocks(mu, a, k, b, block, grad_mu=need[0], grad_vec=any(need[1:4]),
                                     scale_grad_mu=False, tile=tile)
        if grads is not None and grads[0] is not None:
            grads = (_normalize_backward(grads[0], mu, norm, 1.0 / float(weight.shape[0]) ** 2),) + grads[1:]
        return loss, op, grads

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss: torch.Tensor, grad_op: torch.Tensor | None):
        need = ctx.needs_input_grad
        grads = ctx.grads
        if grads is None and any(need[:4]):  # a second backward of the same graph: recompute (saved inputs)
            grads = IcdFunction._run(*ctx.saved_tensors, ctx.block, ctx.tile, need)[2]
        ctx.grads = None  # handed over below: never scaled twice, never aliased with a caller's .grad
        if grads is None:
            return None, None, None, None, None, None
        out = [g.mul_(grad_loss) if g is not None and want else None for g, want in zip(grads, need[:4])]
        return (*out, None, None)


# ------------------------------------------------------------------------------------------------ sampled ICD
def sample_icd_rows(num_classes: int, num_samples: int, always: torch.Tensor | None = None,
                    generator: torch.Generator | None = None,
                    device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows (classes i) of the sampled ICD and their weights, a stratified sample of the C rows of O.

    The classes in ``always`` (e.g. the labels of the batch; duplicates ignored) are always taken, weight 1; from the
    N other classes ``num_samples`` are drawn uniformly without replacement, each weighted N / num_samples. Given
    ``always``, sum_i weight_i rho_i is then unbiased for sum_i rho_i for any row statistic rho. When num_samples >= N
    every row is taken with weight 1 (the full ICD).
    """
    if isinstance(num_samples, bool) or int(num_samples) != num_samples or num_samples < 1:
        raise ValueError(f'sampled ICD: the number of sampled classes must be a positive integer, got {num_samples!r}')
    taken = torch.zeros(num_classes, dtype=torch.bool)
    if always is not None:
        always = always.reshape(-1).long().cpu()
        if always.numel() and (always.min() < 0 or always.max() >= num_classes):
            raise ValueError(f'sampled ICD: labels must lie in [0, {num_classes}), got range '
                             f'[{int(always.min())}, {int(always.max())}]')
        taken[always] = True
    fixed = taken.nonzero().flatten()
    rest = (~taken).nonzero().flatten()
    m = min(int(num_samples), rest.numel())
    drawn = rest[torch.randperm(rest.numel(), generator=generator)[:m]] if m < rest.numel() else rest
    rows = torch.cat([fixed, drawn])
    weights = torch.ones(rows.numel(), dtype=torch.float64)
    if m:
        weights[fixed.numel():] = rest.numel() / m
    return rows.to(device), weights.to(device)


def icd_rows_loss(weight: torch.Tensor, kappa: torch.Tensor, rows: torch.Tensor, row_weight: torch.Tensor,
                  d: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum_{i in rows} w_i sum_{j != i} O_ij / C^2, detached op_i = sum_j O_ij / C of those rows): the rows of O
    against all C classes, by autograd (one |rows| x C x d product forward, two backward; memory O(|rows| C))."""
    from .bessel import vmf_log_norm, vmf_mean_resultant

    if weight.dim() != 2 or kappa.shape != (weight.shape[0],):
        raise ValueError(f'sampled ICD: weight (C, d) and kappa (C,) expected, got {tuple(weight.shape)} and '
                         f'{tuple(kappa.shape)}')
    c = weight.shape[0]
    d = int(weight.shape[1]) if d is None else int(d)
    mu = torch.nn.functional.normalize(weight, p=2, dim=1)
    a = vmf_mean_resultant(kappa, d).to(mu.dtype)
    b = vmf_log_norm(kappa, d).to(mu.dtype)
    k = kappa.to(mu.dtype)
    o = 1.0 / (1.0 + kl_rows(mu[rows], mu, a[rows], k[rows], k, b[rows], b))
    row_sum = o.sum(dim=1)
    off = row_sum - o[torch.arange(rows.numel(), device=o.device), rows]
    return (off * row_weight.to(o.dtype)).sum() / float(c * c), (row_sum / c).detach()


def sampled_icd_loss_and_op(weight: torch.Tensor, kappa: torch.Tensor, num_samples: int,
                            always: torch.Tensor | None = None, d: int | None = None,
                            generator: torch.Generator | None = None):
    """Unbiased sampled ICD: ``(loss, rows, op_rows)`` for the rows of :func:`sample_icd_rows` (see
    :func:`icd_rows_loss`). Its expectation (given ``always``) is the full ICD loss, and it equals it when every row
    is taken; op_rows are the exact op_i of the sampled rows, for a running op estimate.

    Variance (docs/methods.md §1.5): Var = (N / C^2)^2 (1 - m / N) S^2 / m, where N = C - |always|, m =
    ``num_samples`` and S^2 the variance (denominator N - 1) of the row sums rho_i = sum_{j != i} O_ij over the N
    sampled-from classes; it vanishes at m = N. The weights' gradient is unbiased too, but noisier: a class outside the
    sample gets gradient only through the column terms O_ji of the sampled rows i.
    """
    rows, row_w = sample_icd_rows(weight.shape[0], num_samples, always, generator, weight.device)
    loss, op_rows = icd_rows_loss(weight, kappa, rows, row_w, d)
    return loss, rows, op_rows
