"""Time the epoch plans of the long-tailed samplers at iNaturalist-2018 scale (437,513 images, 8,142 classes).

Floor: one random permutation of the N indices (``numpy.random.Generator.permutation``), what any shuffling sampler
must at least produce per epoch; each plan is reported as a median / min time and as a ratio to it (``x perm``).
The rows (every plan at every requested epoch, plus the floor) are measured interleaved: a warm-up call each, then
``--repeat`` rounds that run every row once in a rotating order. The machine header and the interference of other jobs
are printed like ``bench_heads.py``; the table is Markdown, ready for docs/benchmarks.md.

Usage: python benchmarks/bench_sampler_plan.py [--epochs 0 89] [--repeat 5] [--quick]
The class sizes follow an exponential profile from 1000 down to 2 images rescaled to 437,513 in total (the real
iNat18 counts are not shipped); the plan cost depends on N, C and the epoch, not on the exact counts.
"""
from __future__ import annotations

import argparse
import os.path as osp
import statistics
import sys
import time

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
for p in (HERE, osp.dirname(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_heads import OtherJobsMeter, Task, fmt_ms, measure, print_header  # noqa: E402  (same folder)

from ltplug.core import sampling  # noqa: E402


def inat_like_labels(n: int = 437_513, c: int = 8_142, seed: int = 0) -> np.ndarray:
    raw = 1000.0 * (2 / 1000.0) ** (np.arange(c) / (c - 1))
    counts = np.maximum(2, np.floor(raw * n / raw.sum())).astype(np.int64)
    counts[0] += n - counts.sum()
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(c), counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--epochs', type=int, nargs='+', default=[0, 89])
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--quick', action='store_true', help='N = 20,000, C = 400, one round (smoke test only)')
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1
    print_header('bench_sampler_plan.py: long-tailed sampler epoch plans' + (' [quick: figures meaningless]'
                                                                             if args.quick else ''))
    labels = inat_like_labels(20_000, 400) if args.quick else inat_like_labels()
    t0 = time.perf_counter()
    index = sampling.build_class_index(labels)
    print(f'\nN = {labels.size}, C = {index.num_classes}; class index built in {time.perf_counter() - t0:.3f} s\n')
    n = labels.size
    plans = {
        'instance-balanced': lambda e: sampling.instance_balanced_plan(n, n, 0, e),
        'class-balanced (4 per class)': lambda e: sampling.class_balanced_plan(index, n, 0, e, 4),
        'square-root (q = 0.5)': lambda e: sampling.power_plan(index, n, 0, e, 0.5),
        'progressively-balanced (E = 90)': lambda e: sampling.progressive_plan(index, n, 0, e, 90),
    }
    rng = np.random.default_rng(0)

    def check(fn, epoch):
        def run() -> None:
            assert fn(epoch).size == n
        return run

    tasks = {('floor: one permutation of N', None): Task(lambda: rng.permutation(n))}
    for name, fn in plans.items():
        for epoch in args.epochs:
            tasks[(name, epoch)] = Task(check(fn, epoch))
    meter = OtherJobsMeter()
    times = measure(tasks, warmup=1, repeats=args.repeat)
    floor = statistics.median(times[('floor: one permutation of N', None)])
    print('| plan | epoch | median ms (min) | x perm |')
    print('|---|---:|---:|---:|')
    for (name, epoch), values in times.items():
        med = statistics.median(values)
        cells = f'{fmt_ms(1e3 * med)} ({fmt_ms(1e3 * min(values))})'
        print(f'| {name} | {"-" if epoch is None else epoch} | {cells} | {med / floor:.2f}x |')
    print(f'\n({args.repeat} rounds; {meter.note()})')


if __name__ == '__main__':
    main()
