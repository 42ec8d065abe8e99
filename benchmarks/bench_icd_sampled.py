"""Accuracy of the sampled ICD against the full ICD on long-tailed digits (CPU; prints a Markdown table, never asserts).

The sampled ICD (``VMFClassifier(icd_sample=m)``, docs/methods.md §1.5) replaces the full C x C overlap sum by an
unbiased estimate from m uniformly drawn rows of O (plus the batch's classes when the head passes its labels). This
script checks that training with it is as accurate as with the full ICD, within the seed-to-seed noise, on a real
data set small enough for a shared CPU: scikit-learn's 8 x 8 digits (bundled, nothing downloads), made long-tailed
(exponential profile, imbalance 10, on a 70 % train split; the 30 % test split keeps every class balanced as it is).

Model: MLP 64 -> 128 -> 64 (ReLU) + ``VMFClassifier`` (log prior, kappa 16), trained with SGD (momentum 0.9) on
CE + lambda_e ICD (lambda_e as the official schedule, base 0.2). Rows: no auxiliary loss; the full ICD; the sampled
ICD with m uniform rows and NO batch classes (the hardest case for the estimator: m = 2 of C = 10 rows, each weighted
5x). Every row runs the same seeds (data order and initialisation); the table gives the mean and standard deviation
of the balanced test accuracy over the seeds and the relative standard deviation of the sampled loss at the end.

Usage: python benchmarks/bench_icd_sampled.py [--seeds 5] [--epochs 30] [--samples 2] [--threads N] [--quick]
"""
from __future__ import annotations

import argparse
import os.path as osp
import statistics
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
for p in (HERE, REPO):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_heads import OtherJobsMeter, print_header  # noqa: E402  (same folder)


def digits_lt(imbalance: float = 10.0, seed: int = 0):
    """(x_train, y_train, x_test, y_test) float32 / int64 tensors: long-tailed train split, balanced test split."""
    import numpy as np
    import torch
    from sklearn.datasets import load_digits

    from ltplug.core.sampling import exponential_profile

    data = load_digits()
    x = data.data.astype(np.float32) / 16.0
    y = data.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        cut = int(0.7 * idx.size)
        train_idx.append(idx[:cut])
        test_idx.append(idx[cut:])
    sizes = exponential_profile(min(i.size for i in train_idx), imbalance, 10)
    train = np.concatenate([idx[:n] for idx, n in zip(train_idx, sizes)])
    test = np.concatenate(test_idx)
    t = torch.from_numpy
    return t(x[train]), t(y[train]), t(x[test]), t(y[test])


def train_once(data, aux: str, samples: int, epochs: int, seed: int) -> tuple[float, float | None]:
    """Balanced test accuracy (%) after training, and (sampled ICD only) the relative std of its loss estimate."""
    import torch
    import torch.nn as nn

    from ltplug.core.vmf import VMFClassifier, aux_loss_weight, icd_loss_and_op

    x_tr, y_tr, x_te, y_te = data
    torch.manual_seed(seed)
    body = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU())
    head = VMFClassifier(64, 10, icd_sample=samples if aux == 'sampled' else 0)
    head.set_class_counts(torch.bincount(y_tr, minlength=10).numpy())
    params = list(body.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=5e-4)
    g = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        lam = aux_loss_weight(epoch, epochs)
        body.train()
        head.train()
        for idx in torch.randperm(len(y_tr), generator=g).split(64):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(head(body(x_tr[idx])), y_tr[idx])
            if aux != 'none':
                loss = loss + lam * head.icd_loss()  # no labels: the sampled rows are uniform only
            loss.backward()
            opt.step()
    body.eval()
    head.eval()
    with torch.no_grad():
        pred = head(body(x_te)).argmax(1)
    acc = 100.0 * statistics.mean(float((pred[y_te == c] == c).float().mean()) for c in range(10))
    rel_std = None
    if aux == 'sampled':
        with torch.no_grad():
            full = float(icd_loss_and_op(head.weight, head.kappa)[0])
            draws = torch.stack([head.icd_loss() for _ in range(200)])
        rel_std = float(draws.std()) / full
    return acc, rel_std


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=5)
    p.add_argument('--epochs', type=int, default=30)
    p.add_argument('--samples', type=int, default=2, help='uniform rows per step of the sampled ICD (C = 10)')
    p.add_argument('--threads', type=int, help='torch intra-op threads (default: torch default)')
    p.add_argument('--quick', action='store_true', help='2 seeds, 2 epochs (smoke test; figures meaningless)')
    args = p.parse_args(argv)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.seeds, args.epochs = 2, 2
    print_header('bench_icd_sampled.py: sampled vs full ICD, digits-LT' + (' [quick: figures meaningless]'
                                                                           if args.quick else ''))
    data = digits_lt()
    counts = torch.bincount(data[1], minlength=10).tolist()
    print(f'\ntrain class counts {counts}, test {len(data[3])} images (balanced); {args.epochs} epochs, '
          f'seeds 0..{args.seeds - 1}\n')
    meter = OtherJobsMeter()
    t0 = time.perf_counter()
    rows = {'none': 'vMF, no auxiliary loss', 'full': 'vMF + full ICD',
            'sampled': f'vMF + sampled ICD, m = {args.samples} uniform rows of C = 10'}
    results = {key: [] for key in rows}
    spread = []
    for seed in range(args.seeds):  # interleaved: every row runs each seed before the next seed
        for key in rows:
            acc, rel = train_once(data, key, args.samples, args.epochs, seed)
            results[key].append(acc)
            if rel is not None:
                spread.append(rel)
    print('| row | balanced test accuracy %, mean +- std over seeds | per seed |')
    print('|---|---:|---|')
    for key, label in rows.items():
        accs = results[key]
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        print(f'| {label} | {statistics.mean(accs):.2f} +- {std:.2f} | {", ".join(f"{a:.1f}" for a in accs)} |')
    diffs = [s - f for s, f in zip(results['sampled'], results['full'])]
    print(f'\nsampled - full, paired by seed: mean {statistics.mean(diffs):+.2f} points '
          f'(std {statistics.stdev(diffs) if len(diffs) > 1 else 0.0:.2f}); relative std of the sampled loss '
          f'estimate after training (200 draws): {statistics.mean(spread):.3f}')
    print(f'({time.perf_counter() - t0:.0f} s; {meter.note()})')


if __name__ == '__main__':
    main()
