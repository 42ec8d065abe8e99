"""Time the epoch plans of the long-tailed samplers at iNaturalist-2018 scale (437,513 images, 8,142 classes).

Usage: python benchmarks/bench_sampler_plan.py [--epochs 0 89] [--repeat 3] [--quick]
The class sizes follow an exponential profile from 1000 down to 2 images rescaled to 437,513 in total (the real
iNat18 counts are not shipped); the plan cost depends on N, C and the epoch, not on the exact counts.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from ltplug.core import sampling  # noqa: E402


def inat_like_labels(n: int = 437_513, c: int = 8_142, seed: int = 0) -> np.ndarray:
    raw = 1000.0 * (2 / 1000.0) ** (np.arange(c) / (c - 1))
    counts = np.maximum(2, np.floor(raw * n / raw.sum())).astype(np.int64)
    counts[0] += n - counts.sum()
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(c), counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--epochs', type=int, nargs='+', default=[0, 89])
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--quick', action='store_true', help='N = 20,000, C = 400, one repeat (smoke test only)')
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1
    labels = inat_like_labels(20_000, 400) if args.quick else inat_like_labels()
    t0 = time.perf_counter()
    index = sampling.build_class_index(labels)
    print(f'N = {labels.size}, C = {index.num_classes}; class index built in {time.perf_counter() - t0:.3f} s')
    n = labels.size
    plans = {
        'instance-balanced': lambda e: sampling.instance_balanced_plan(n, n, 0, e),
        'class-balanced (4 per class)': lambda e: sampling.class_balanced_plan(index, n, 0, e, 4),
        'square-root (q = 0.5)': lambda e: sampling.power_plan(index, n, 0, e, 0.5),
        'progressively-balanced (E = 90)': lambda e: sampling.progressive_plan(index, n, 0, e, 90),
    }
    for name, fn in plans.items():
        for epoch in args.epochs:
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                plan = fn(epoch)
                times.append(time.perf_counter() - t0)
            assert plan.size == n
            print(f'{name:34s} epoch {epoch:3d}: best {min(times):.3f} s, median {np.median(times):.3f} s')


if __name__ == '__main__':
    main()
