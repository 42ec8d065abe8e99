"""Timings of the vMF-OP pieces on the CPU (prints a table; never asserts).

1. Overlap matrix / ICD loss + op for C = 100, 1000, 8142 classes at d = 2048 (ImageNet-LT / iNat18 sizes):
   forward (what calibration and the report need) and forward + backward (one training step's ICD), chunked rows with
   recomputation in the backward, so memory stays O(chunk x C); plus the dense ``overlap_matrix`` where it fits.
2. One training step of the same backbone with a linear head and with the vMF head (none / ICD): CifarResNet-32 on
   32 x 32 images, batch 128, C = 100 (the CIFAR-100-LT setting), and a head-only step at d = 2048, C = 1000.

Usage: python benchmarks/bench_vmf.py [--classes 100 1000 8142] [--threads N] [--repeats 3] [--skip-step] [--quick]
"""
from __future__ import annotations

import argparse
import os.path as osp
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def timeit(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` in seconds (one warm-up call first)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_overlap(classes: list[int], d: int, repeats: int) -> None:
    import torch

    from ltplug.core.vmf import icd_loss, icd_loss_and_op, overlap_matrix

    print(f'\n== overlap matrix / ICD at d = {d} (float32, CPU, {torch.get_num_threads()} thread(s)) ==')
    print(f'{"C":>6} | {"ICD+op fwd":>11} | {"ICD fwd+bwd":>11} | {"dense O fwd":>11} | {"dense fwd+bwd":>13}')
    for c in classes:
        g = torch.Generator().manual_seed(0)
        w = (torch.rand(c, d, generator=g) * 2 - 1) / d ** 0.5
        k = 16 + torch.randn(c, generator=g)
        reps = repeats if c <= 2000 else 1

        def fwd(w=w, k=k):
            with torch.no_grad():
                icd_loss_and_op(w, k)

        def fwd_bwd(w=w, k=k):
            w1, k1 = w.clone().requires_grad_(), k.clone().requires_grad_()
            icd_loss_and_op(w1, k1)[0].backward()

        cells = [timeit(fwd, reps), timeit(fwd_bwd, reps)]
        if c <= 2000:
            def dense(w=w, k=k):
                with torch.no_grad():
                    overlap_matrix(w, k)

            def dense_bwd(w=w, k=k):
                w1, k1 = w.clone().requires_grad_(), k.clone().requires_grad_()
                icd_loss(overlap_matrix(w1, k1)).backward()
            cells += [timeit(dense, reps), timeit(dense_bwd, reps)]
            extra = f' | {cells[2] * 1e3:>9.1f}ms | {cells[3] * 1e3:>11.1f}ms'
        else:
            extra = f' | {"(skipped)":>11} | {"(skipped)":>13}'
        print(f'{c:>6} | {cells[0] * 1e3:>9.1f}ms | {cells[1] * 1e3:>9.1f}ms{extra}', flush=True)


def bench_steps(repeats: int) -> None:
    import torch
    from mmengine.logging import MessageHub
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    import ltplug  # noqa: F401

    hub = MessageHub.get_instance('bench_vmf')
    hub.update_info('epoch', 0)
    hub.update_info('max_epochs', 45)

    def model_step(head: dict, batch: int, num_classes: int):
        torch.manual_seed(0)
        model = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=32),
                                  neck=dict(type='GlobalAveragePooling'), head=head))
        model.train()
        if hasattr(model.head, 'vmf'):
            model.head.vmf.set_class_counts(torch.arange(num_classes, 0, -1) + 4)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(batch, 3, 32, 32)
        samples = [DataSample().set_gt_label(i % num_classes) for i in range(batch)]

        def step():
            opt.zero_grad()
            losses = model(x, samples, mode='loss')
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            opt.step()
        return step

    def head_step(head: dict, d: int, batch: int, num_classes: int):
        torch.manual_seed(0)
        h = MODELS.build(head)
        h.train()
        if hasattr(h, 'vmf'):
            h.vmf.set_class_counts(torch.arange(num_classes, 0, -1) + 4)
        opt = torch.optim.SGD(h.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(batch, d).relu().requires_grad_()
        samples = [DataSample().set_gt_label(i % num_classes) for i in range(batch)]

        def step():
            opt.zero_grad()
            losses = h.loss((x,), samples)
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            opt.step()
        return step

    linear = dict(type='LinearClsHead', loss=dict(type='CrossEntropyLoss'))
    vmf = dict(type='VMFClsHead', aux_loss='none')
    vmf_icd = dict(type='VMFClsHead', aux_loss='icd')
    print('\n== training step: CifarResNet-32, 32x32, batch 128, C = 100 (fwd + bwd + SGD) ==')
    for name, head in (('linear', linear), ('vMF', vmf), ('vMF + ICD', vmf_icd)):
        t = timeit(model_step(dict(head, num_classes=100, in_channels=64), 128, 100), repeats)
        print(f'{name:>10}: {t * 1e3:8.1f} ms / step', flush=True)
    print('\n== head-only step: d = 2048, C = 1000, batch 512 (the ImageNet-LT head) ==')
    for name, head in (('linear', linear), ('vMF', vmf), ('vMF + ICD', vmf_icd)):
        t = timeit(head_step(dict(head, num_classes=1000, in_channels=2048), 2048, 512, 1000), repeats)
        print(f'{name:>10}: {t * 1e3:8.1f} ms / step', flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--classes', type=int, nargs='+', default=[100, 1000, 8142])
    p.add_argument('--dim', type=int, default=2048)
    p.add_argument('--threads', type=int, help='torch intra-op threads (default: torch default)')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--skip-step', action='store_true', help='only the overlap timings')
    p.add_argument('--quick', action='store_true', help='tiny overlap sizes, 1 repeat, no step section (smoke test)')
    args = p.parse_args(argv)
    if args.quick:
        args.classes, args.dim, args.repeats, args.skip_step = [8, 16], 32, 1, True
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    bench_overlap(args.classes, args.dim, args.repeats)
    if not args.skip_step:
        bench_steps(args.repeats)


if __name__ == '__main__':
    main()
