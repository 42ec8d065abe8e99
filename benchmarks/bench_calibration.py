"""Inference cost of vMF-OP's post-training calibration: an eval-mode vMF classifier before vs after calibration (CPU).

Calibration replaces max(kappa, 1) by a precomputed kappa' = kappa^alpha op'^(1 - alpha) (a buffer), so the forward
must cost the same. For each setting the script builds a vMF model, gives its concentrations a spread and runs one
training step (so the bias b and the op statistics are stored, as after training), copies it, calibrates the copy
exactly as ``VMFCalibrationHook`` does before validation / test (every ``VMFClassifier`` found by
``find_vmf_classifiers`` gets ``calibrate(alpha)``), checks that the calibration changed the logits, and times the
eval forward of both interleaved (warm-up, then the median of the rounds). It also times the one-off ``calibrate()``
call with the stored op (``bias`` / ICD statistics: a C-vector operation) and with ``op_fallback='overlap'`` (which
computes the C x C overlap matrix of the final weights once).

Settings: head-only VMFClsHead on features (256, 2048) with C = 1000 (ImageNet-LT) and C = 8142 (iNat18), and
end-to-end CifarResNet-32 + VMFClsHead on 32 x 32 images, batch 128, C = 100 (CIFAR-100-LT).

Usage: python benchmarks/bench_calibration.py [--alpha 0.5] [--warmup 3] [--repeats 15] [--threads N]
           [--skip-overlap] [--quick]
"""
from __future__ import annotations

import argparse
import copy
import os.path as osp
import statistics
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from bench_heads import (  # noqa: E402  (shared machine description / timing helpers, same folder)
    OtherJobsMeter,
    Task,
    fmt_ms,
    give_class_counts,
    init_hub,
    load_note,
    lt_counts,
    make_samples,
    measure,
    median_ms,
    print_header,
    quiet_logger,
    step_task,
)

# (label, kind, batch, dim, classes, n_max, n_min, depth, image)
SETTINGS = [
    ('head-only, ImageNet-LT: features (256, 2048), C = 1000', 'head', 256, 2048, 1000, 1280, 5, 0, 0),
    ('head-only, iNat18: features (256, 2048), C = 8142', 'head', 256, 2048, 8142, 1000, 2, 0, 0),
    ('end-to-end, CIFAR-100-LT: CifarResNet-32, 32x32, batch 128, C = 100', 'e2e', 128, 64, 100, 500, 5, 32, 32),
]
QUICK_SETTINGS = [
    ('head-only [quick]: features (8, 32), C = 12', 'head', 8, 32, 12, 40, 2, 0, 0),
    ('end-to-end [quick]: CifarResNet-8, 16x16, batch 4, C = 6', 'e2e', 4, 64, 6, 20, 2, 8, 16),
]


def build_trained(kind: str, batch: int, dim: int, classes: int, n_max: int, n_min: int, depth: int, image: int):
    """A vMF head / classifier after one training step, its eval input and the forward to time."""
    import numpy as np
    import torch
    from mmpretrain.registry import MODELS

    from ltplug.engine.hooks import find_vmf_classifiers

    g = torch.Generator().manual_seed(0)
    counts = lt_counts(classes, n_max, n_min)
    labels = np.random.default_rng(0).choice(classes, size=batch, p=counts / counts.sum())
    samples = make_samples(labels)
    head = dict(type='VMFClsHead', num_classes=classes, in_channels=dim, aux_loss='none', op_fallback='bias')
    torch.manual_seed(0)
    if kind == 'head':
        module = MODELS.build(head)
        x = torch.randn(batch, dim, generator=g).relu()
        step = step_task(module, lambda: module.loss((x,), samples))

        def forward(m):
            return m((x,))
    else:
        module = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=depth),
                                   neck=dict(type='GlobalAveragePooling'), head=head))
        x = torch.randn(batch, 3, image, image, generator=g)
        step = step_task(module, lambda: module(x, samples, mode='loss'))

        def forward(m):
            return m(x, mode='tensor')
    module.init_weights()
    give_class_counts(module, counts)
    for _, vmf in find_vmf_classifiers(module):  # a spread of concentrations, as after training
        with torch.no_grad():
            vmf.kappa.copy_(16.0 + 8.0 * torch.rand(classes, generator=g) - 4.0)
    step()
    return module.eval(), forward


def calibrate_like_hook(model, alpha: float) -> int:
    """What ``VMFCalibrationHook._apply`` does: ``calibrate(alpha)`` on every VMFClassifier; returns how many."""
    from ltplug.engine.hooks import find_vmf_classifiers

    found = find_vmf_classifiers(model)
    if not found:
        raise ValueError('bench_calibration: the model has no VMFClassifier')
    for _, vmf in found:
        vmf.calibrate(alpha)
    return len(found)


def time_once(fn, repeats: int) -> float:
    """Median wall time (ms) of ``fn()`` over ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def run_setting(setting: tuple, alpha: float, warmup: int, repeats: int, skip_overlap: bool) -> list[str]:
    """Times one setting; returns its table row."""
    import torch

    from ltplug.engine.hooks import find_vmf_classifiers

    label, kind, batch, dim, classes, n_max, n_min, depth, image = setting
    plain, forward = build_trained(kind, batch, dim, classes, n_max, n_min, depth, image)
    calibrated = copy.deepcopy(plain)
    calibrate_like_hook(calibrated, alpha)
    with torch.no_grad():
        delta = (forward(calibrated) - forward(plain)).abs().max().item()
    vmf_plain = find_vmf_classifiers(plain)[0][1]
    vmf_cal = find_vmf_classifiers(calibrated)[0][1]
    assert vmf_cal.calibrated and not vmf_plain.calibrated, 'calibration did not take effect'

    def fwd(model):
        def run():
            with torch.no_grad():
                forward(model)
        return Task(run)
    times = measure({'plain': fwd(plain), 'calibrated': fwd(calibrated)}, warmup, repeats)
    t_plain, t_cal = median_ms(times['plain']), median_ms(times['calibrated'])

    # one-off calibrate() costs: the stored op (a C-vector op), and the 'overlap' fallback (C x C overlap once)
    work = copy.deepcopy(vmf_plain)
    t_stored = time_once(lambda: work.calibrate(alpha), repeats=max(1, min(repeats, 5)))
    if skip_overlap:
        t_overlap = None
    else:
        work.op_fallback = 'overlap'
        t_overlap = time_once(lambda: work.calibrate(alpha), repeats=1 if classes > 2000 else max(1, min(repeats, 3)))
    return [label, fmt_ms(t_plain), fmt_ms(t_cal), f'{t_cal / t_plain:.3f}', f'{delta:.3g}', fmt_ms(t_stored),
            fmt_ms(t_overlap) if t_overlap is not None else 'skipped']


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--alpha', type=float, default=0.5, help='calibration alpha in [0, 1) (default 0.5)')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--repeats', type=int, default=15, help='interleaved rounds; the median is shown (default 15)')
    p.add_argument('--threads', type=int, help='torch intra-op threads (default: torch default)')
    p.add_argument('--skip-overlap', action='store_true', help="skip timing calibrate() with op_fallback='overlap'")
    p.add_argument('--quick', action='store_true', help='tiny shapes, 1 round (smoke test only)')
    p.add_argument('--markdown', action='store_true', help='also print the table as docs/benchmarks.md rows')
    args = p.parse_args(argv)
    if not 0.0 <= args.alpha < 1.0:
        p.error(f'--alpha must be in [0, 1) (1 switches calibration off), got {args.alpha}')
    import torch
    from mmengine.registry import init_default_scope

    import ltplug  # noqa: F401  (registers the ltplug types)

    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmpretrain')
    quiet_logger()
    init_hub()
    settings = QUICK_SETTINGS if args.quick else SETTINGS
    if args.quick:
        args.warmup, args.repeats = 0, 1
    quick = ' [--quick: tiny shapes, figures meaningless]' if args.quick else ''
    print_header(f'bench_calibration: eval forward of a vMF classifier before / after calibration (alpha = '
                 f'{args.alpha}){quick}')
    print(f'   warm-up {args.warmup}, median of {args.repeats} interleaved rounds', flush=True)
    cols = ['setting', 'plain ms', 'calibrated ms', 'ratio', 'max |d logit|', 'calibrate() ms',
            "calibrate('overlap') ms"]
    rows = []
    meter = OtherJobsMeter()
    for setting in settings:
        rows.append(run_setting(setting, args.alpha, args.warmup, args.repeats, args.skip_overlap))
        print(f'   done: {setting[0]} (load avg {load_note(torch.get_num_threads())})', flush=True)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    line = ' | '.join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cols, widths)))
    print()
    print(line)
    print('-' * len(line))
    for r in rows:
        print(' | '.join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))
    print("   ratio = calibrated / plain eval forward (1.000: same cost); max |d logit| > 0 shows the calibration is "
          "active; calibrate() = the one-off cost with the stored op, calibrate('overlap') = with op_fallback="
          "'overlap'.")
    print(f'   {meter.note()}')
    print(f'   load avg after: {load_note(torch.get_num_threads())}', flush=True)
    if args.markdown:
        print('\n| ' + ' | '.join(cols) + ' |')
        print('|---' + '|---:' * (len(cols) - 1) + '|')
        for r in rows:
            print('| ' + ' | '.join(r) + ' |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
