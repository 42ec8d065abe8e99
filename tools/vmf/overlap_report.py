"""Distribution-overlap report of a trained vMF classifier (checkpoint only; no data needed).

O_ij = 1 / (1 + KL(vMF_i || vMF_j)) from the class weights and raw kappa (the quantity the ICD loss pushes down).
Writes to --out-dir (default: <checkpoint dir>/overlap_report_<checkpoint name>/):
  top_pairs.csv      the most confusable class pairs, ranked by (O_ij + O_ji) / 2, with both directions
  per_class.csv      per class: training count, kappa, mean overlap with the other classes, the calibration op
  overlap_vs_frequency.png   per-class mean overlap against training frequency (log), with the rank correlation
  heatmap.png        the C x C overlap matrix, classes ordered by training frequency (only when C <= 100)
and prints the top pairs.

Usage: python tools/vmf/overlap_report.py CHECKPOINT [--top 20] [--out-dir DIR] [--prefix head.vmf] [--force]
"""
from __future__ import annotations

import argparse
import csv
import os
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import ToolError, read_state_dict  # noqa: E402

HEATMAP_MAX_CLASSES = 100


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Overlap report of a vMF classifier checkpoint')
    p.add_argument('checkpoint')
    p.add_argument('--top', type=int, default=20, help='number of class pairs to list')
    p.add_argument('--out-dir', help='output folder (default: next to the checkpoint)')
    p.add_argument('--prefix', help="state-dict prefix of the classifier (e.g. 'head.vmf'); default: found")
    p.add_argument('--force', action='store_true', help='write into an existing output folder')
    args = p.parse_args(argv)
    if args.top < 1:
        p.error('--top must be >= 1')
    return args


def find_prefix(state: dict, prefix: str | None) -> str:
    """The state-dict prefix of the (single) VMFClassifier: a module with weight, kappa, op and op_source."""
    cands = sorted(k[:-len('.kappa')] for k in state if k.endswith('.kappa')
                   and all(f'{k[:-len(".kappa")]}.{s}' in state for s in ('weight', 'op', 'op_source', 'bias')))
    if prefix is not None:
        if prefix not in cands:
            raise ToolError(f'no vMF classifier at --prefix {prefix!r} in the checkpoint (found: {cands})')
        return prefix
    if len(cands) != 1:
        raise ToolError(f'expected one vMF classifier in the checkpoint, found {cands}; pick one with --prefix')
    return cands[0]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties), numpy only."""
    def ranks(x):
        order = np.argsort(x, kind='mergesort')
        r = np.empty(len(x))
        r[order] = np.arange(len(x), dtype=np.float64)
        _, inv, cnt = np.unique(x, return_inverse=True, return_counts=True)
        sums = np.bincount(inv, weights=r)
        return sums[inv] / cnt[inv]
    ra, rb = ranks(np.asarray(a, float)), ranks(np.asarray(b, float))
    if ra.std() == 0 or rb.std() == 0:
        return float('nan')
    return float(np.corrcoef(ra, rb)[0, 1])


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import torch

    from ltplug.core.vmf import OP_SOURCES, overlap_matrix

    state, meta = read_state_dict(args.checkpoint)
    prefix = find_prefix(state, args.prefix)
    weight, kappa = state[f'{prefix}.weight'], state[f'{prefix}.kappa']
    c = weight.shape[0]
    counts = state.get(f'{prefix}.class_counts')
    counts = counts.numpy().astype(np.int64) if counts is not None else np.zeros(c, np.int64)
    names = list((meta.get('dataset_meta') or {}).get('classes') or [])
    if len(names) != c:
        names = [str(i) for i in range(c)]
    out_dir = args.out_dir or osp.join(osp.dirname(osp.abspath(args.checkpoint)),
                                       f'overlap_report_{osp.splitext(osp.basename(args.checkpoint))[0]}')
    if osp.exists(out_dir) and os.listdir(out_dir) and not args.force:
        raise ToolError(f'{out_dir} exists and is not empty; pass --out-dir or --force')
    os.makedirs(out_dir, exist_ok=True)

    dtype = torch.float64 if c <= 4096 else torch.float32  # 8142 classes: 265 MB in float32
    with torch.no_grad():
        o = overlap_matrix(weight.to(dtype), kappa.to(dtype)).numpy()
    off = o.copy()
    np.fill_diagonal(off, np.nan)
    mean_overlap = np.nanmean(off, axis=1) if c > 1 else np.zeros(1)

    # top pairs by the symmetric overlap (i < j)
    sym = (o + o.T) / 2
    iu, ju = np.triu_indices(c, k=1)
    vals = sym[iu, ju]
    top = np.argsort(-vals, kind='stable')[:args.top]
    pairs = [dict(class_i=int(iu[t]), name_i=names[iu[t]], class_j=int(ju[t]), name_j=names[ju[t]],
                  overlap_sym=float(vals[t]), overlap_ij=float(o[iu[t], ju[t]]), overlap_ji=float(o[ju[t], iu[t]]),
                  count_i=int(counts[iu[t]]), count_j=int(counts[ju[t]])) for t in top]
    with open(osp.join(out_dir, 'top_pairs.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(pairs[0]) if pairs else ['class_i'])
        writer.writeheader()
        writer.writerows(pairs)
    op = state[f'{prefix}.op'].numpy()
    op_source = OP_SOURCES[int(state[f'{prefix}.op_source'])]
    with open(osp.join(out_dir, 'per_class.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['class_id', 'name', 'train_count', 'kappa', 'mean_overlap', f'op ({op_source})'])
        for i in range(c):
            writer.writerow([i, names[i], int(counts[i]), float(kappa[i]), float(mean_overlap[i]), float(op[i])])
    rho = spearman(counts, mean_overlap) if (counts > 0).all() else float('nan')

    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ax.scatter(np.maximum(counts, 0.5), mean_overlap, s=10, alpha=0.6)
    ax.set_xscale('log')
    ax.set_xlabel('training images of the class (log)')
    ax.set_ylabel('mean overlap with the other classes')
    ax.set_title(f'per-class overlap vs frequency (Spearman {rho:.2f})')
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'overlap_vs_frequency.png'), dpi=100)
    if c <= HEATMAP_MAX_CLASSES:
        order = np.argsort(-counts, kind='stable')
        fig = Figure(figsize=(6, 5))
        ax = fig.add_subplot()
        im = ax.imshow(off[np.ix_(order, order)], cmap='viridis', interpolation='nearest')
        fig.colorbar(im, ax=ax, label='O_ij (diagonal blank)')
        ax.set_xlabel('class j (by training frequency)')
        ax.set_ylabel('class i (by training frequency)')
        if c <= 20:
            ax.set_xticks(range(c), [names[i] for i in order], rotation=90, fontsize=7)
            ax.set_yticks(range(c), [names[i] for i in order], fontsize=7)
        ax.set_title('vMF overlap O_ij = 1 / (1 + KL_ij)')
        fig.tight_layout()
        fig.savefig(osp.join(out_dir, 'heatmap.png'), dpi=100)

    print(f'{c} classes, d = {weight.shape[1]}, kappa in [{float(kappa.min()):.3f}, {float(kappa.max()):.3f}]; '
          f'ICD = {float(np.nansum(off)) / c ** 2:.5f}; Spearman(train count, mean overlap) = {rho:.3f}')
    print(f'top {len(pairs)} confusable pairs ((O_ij + O_ji) / 2):')
    for p in pairs:
        print(f'  {p["name_i"]:>12} ({p["count_i"]:>5}) <-> {p["name_j"]:<12} ({p["count_j"]:>5})  '
              f'{p["overlap_sym"]:.4f}  [i->j {p["overlap_ij"]:.4f}, j->i {p["overlap_ji"]:.4f}]')
    print(f'wrote {out_dir}')
    return dict(out_dir=out_dir, pairs=pairs, mean_overlap=mean_overlap, spearman=rho)


if __name__ == '__main__':
    main()
