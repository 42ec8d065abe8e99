"""Timings of the vMF-OP pieces on the CPU against their physical floor (prints Markdown tables; never asserts).

1. **ICD vs its floor.** The ICD loss needs every overlap O_ij, i.e. the C x C matrix mu mu^T: its floor is one
   C x C x d product (``mu @ mu.T``, float32). For C = 1000, 4096, 8142 at d = 2048 the rows are that product, the
   ICD loss + op forward under ``no_grad`` (what calibration needs), the forward + backward of a training step
   (weight and kappa require grad), the unbiased sampled ICD with C / 16 (at most 512) uniform rows (fwd + bwd) and,
   up to ``--dense-max`` classes, the same loss by autograd through the dense
   overlap matrix (the official ``get_overlap`` recipe). Each is reported as a median / min time and as a ratio to
   the product (``x product``), plus the peak extra memory of one call measured in a fresh process (peak RSS minus
   the RSS before the call: inputs excluded, outputs and gradients included).
2. **b(kappa) and A_d(kappa) for C = 1000 classes at d = 2048**: ltplug's float64 torch code (log-space Debye
   expansion + continued fraction) against the official recipe re-implemented here (mpmath ``besseli`` per class, as
   the official ``Function_Apk`` / ``Function_Bias`` run in every training step), with the largest difference.
3. Unless ``--skip-step``: one training step (``zero_grad`` + loss + backward + SGD) with a linear head, the vMF head
   and the vMF head + ICD, head-only (d = 2048, C = 1000, batch 512) and end to end (CifarResNet-32, batch 128,
   C = 100).

Every section measures its rows interleaved (warm-up calls, then rounds that each run every row once in a rotating
order) and prints the machine header and the interference of other jobs, like ``bench_heads.py``. The tables are
Markdown, ready for docs/benchmarks.md.

Usage: python benchmarks/bench_vmf.py [--classes 1000 4096 8142] [--dim 2048] [--repeats 3] [--threads N]
           [--dense-max 1000] [--skip-memory] [--skip-bessel] [--skip-step] [--quick]
"""
from __future__ import annotations

import argparse
import os.path as osp
import subprocess
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
for p in (HERE, REPO):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_heads import OtherJobsMeter, Task, fmt_ms, measure, print_header  # noqa: E402  (same folder)


class CpuTimed:
    """A callable that also records the CPU time of this process (all its threads) per call: on a shared machine the
    CPU-time ratio is robust to time slices lost to other jobs (not to their cache / memory-bandwidth use)."""

    def __init__(self, fn) -> None:
        self.fn, self.cpu = fn, []

    def __call__(self) -> None:
        t = time.process_time()
        self.fn()
        self.cpu.append(time.process_time() - t)


def stats_ms(values: list[float]) -> tuple[float, float]:
    import statistics

    return 1e3 * statistics.median(values), 1e3 * min(values)


def inputs(c: int, d: int, seed: int = 0):
    """Class weights U(-1/sqrt d, 1/sqrt d) (the classifier's init) and concentrations around 16, float32."""
    import torch

    g = torch.Generator().manual_seed(seed)
    w = (torch.rand(c, d, generator=g) * 2 - 1) / d ** 0.5
    k = 16 + torch.randn(c, generator=g)
    return w, k


def icd_tasks(c: int, d: int, dense: bool, tiles: tuple[int, ...] = ()) -> dict[str, Task]:
    import torch
    import torch.nn.functional as F

    from ltplug.core.bessel import vmf_log_norm, vmf_mean_resultant
    from ltplug.core.overlap_fast import DEFAULT_BLOCK, IcdFunction, sampled_icd_loss_and_op
    from ltplug.core.vmf import icd_loss, icd_loss_and_op, overlap_matrix

    w, k = inputs(c, d)
    mu = F.normalize(w, dim=1)

    def product() -> None:
        torch.mm(mu, mu.t())

    def fwd() -> None:
        with torch.no_grad():
            icd_loss_and_op(w, k)

    wp, kp = w.clone().requires_grad_(), k.clone().requires_grad_()  # parameters; .grad reset as by zero_grad

    def fwd_bwd() -> None:
        wp.grad = kp.grad = None
        icd_loss_and_op(wp, kp)[0].backward()

    def dense_fwd_bwd() -> None:
        wp.grad = kp.grad = None
        o = overlap_matrix(wp, kp)
        icd_loss(o).backward()
        o.detach().mean(dim=1)  # the op vector

    g = torch.Generator().manual_seed(1)

    def sampled_fwd_bwd() -> None:
        wp.grad = kp.grad = None
        sampled_icd_loss_and_op(wp, kp, sampled_rows(c), generator=g)[0].backward()

    def tiled_fwd_bwd(tile: int):
        def fn() -> None:  # icd_loss_and_op's training path with another tile size
            wp.grad = kp.grad = None
            a, b = vmf_mean_resultant(kp, d).float(), vmf_log_norm(kp, d).float()
            IcdFunction.apply(wp, a, kp, b, DEFAULT_BLOCK, tile)[0].backward()
        return fn

    fns = {'product': product, 'fwd': fwd, 'fwd_bwd': fwd_bwd, 'sampled': sampled_fwd_bwd}
    if dense:
        fns['dense'] = dense_fwd_bwd
    for tile in tiles:
        fns[f'tile{tile}'] = tiled_fwd_bwd(tile)
    return {key: Task(CpuTimed(fn)) for key, fn in fns.items()}


def sampled_rows(c: int) -> int:
    """Uniform rows of the sampled-ICD row: C / 16, at most 512 (what a user at iNat scale might pick)."""
    return max(1, min(512, c // 16))


def icd_label(key: str, c: int) -> str:
    if key.startswith('tile'):
        return f'ICD loss + op, forward + backward, {key[4:]} x {key[4:]} tiles (`--tiles`)'
    return {'product': 'floor: one C x C x d product `mu @ mu.T`',
            'fwd': 'ICD loss + op, forward (`no_grad`)',
            'fwd_bwd': 'ICD loss + op, forward + backward',
            'dense': 'dense autograd through O (official recipe), fwd + bwd',
            'sampled': f'sampled ICD (`icd_sample={sampled_rows(c)}`, unbiased), fwd + bwd'}[key]


def memory_probe(c: int, d: int, what: str, threads: int) -> float | None:
    """Peak extra resident memory (MiB) of one call of ``what`` in a fresh process, or None if it cannot be read."""
    code = (f'import sys; sys.path[:0] = [{HERE!r}, {REPO!r}]\n'
            'import torch, bench_vmf\n'
            f'torch.set_num_threads({threads})\n'
            f'tasks = bench_vmf.icd_tasks({c}, {d}, dense={what == "dense"})\n'
            'def rss(key):\n'
            '    for line in open("/proc/self/status"):\n'
            '        if line.startswith(key):\n'
            '            return int(line.split()[1])\n'
            'open("/proc/self/clear_refs", "w").write("5")  # reset the peak RSS (VmHWM) to the current RSS\n'
            'base = rss("VmRSS:")\n'
            f'tasks[{what!r}]()\n'
            'print((rss("VmHWM:") - base) / 1024)\n')
    try:
        out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=900, check=True)
        return float(out.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError, OSError):
        return None


def bench_icd(classes: list[int], d: int, repeats: int, dense_max: int, memory: bool, quick: bool = False,
              tiles: tuple[int, ...] = ()) -> None:
    import torch

    threads = torch.get_num_threads()
    print(f'\n== ICD loss + op vs one C x C x d product, d = {d}, float32, {threads} thread(s) ==')
    print('warm-up 1 call, then interleaved rounds; median (min) ms; x product = median / median of the product row '
          '(wall time; CPU: the same with this process\'s CPU time); peak extra MiB: one call in a fresh process '
          '(inputs excluded)\n')
    print('| C | row | median ms (min) | x product | x product, CPU | peak extra MiB |')
    print('|---:|---|---:|---:|---:|---:|')
    for c in classes:
        meter = OtherJobsMeter()
        tasks = icd_tasks(c, d, dense=c <= dense_max, tiles=tiles)
        reps = repeats if c > 2000 else max(repeats, 7)
        times = measure(tasks, warmup=1, repeats=reps)
        note = meter.note()  # before the memory probes: their fresh processes would count as other jobs
        floor = stats_ms(times['product'])[0]
        cpu = {key: stats_ms(task.run.cpu[1:])[0] for key, task in tasks.items()}  # [1:]: not the warm-up call
        for key, values in times.items():
            med, low = stats_ms(values)
            probe = (memory and not key.startswith('tile')
                     and (not quick or (c == classes[-1] and key == 'fwd_bwd')))  # quick: one probe
            mem = memory_probe(c, d, key, threads) if probe else None
            mem_cell = '-' if mem is None else f'{mem:.0f}'
            print(f'| {c} | {icd_label(key, c)} | {fmt_ms(med)} ({fmt_ms(low)}) | {med / floor:.2f}x | '
                  f'{cpu[key] / cpu["product"]:.2f}x | {mem_cell} |', flush=True)
        print(f'\n({reps} rounds at C = {c}; {note})\n' if c != classes[-1] else
              f'\n({reps} rounds at C = {c}; {note})')


# ------------------------------------------------------------------------------------------------ b(kappa), A_d(kappa)
def official_mpmath(kappa: list[float], d: int) -> tuple[list[float], list[float]]:
    """The official per-step recipe, re-implemented: per class, with mpmath's default precision,
    A = I_{v+1}(k) / I_v(k) and b = v log(k/2) - log I_v(k) - (v log 8 - log I_v(16)), v = d // 2 - 1."""
    import mpmath as mp

    v = d // 2 - 1
    a_out, b_out = [], []
    for k in kappa:
        iv = mp.besseli(v, k)
        a_out.append(float(mp.besseli(v + 1, k) / iv))
        b_out.append(float(v * mp.log(k / 2) - mp.log(iv) - v * mp.log(8) + mp.log(mp.besseli(v, 16))))
    return a_out, b_out


def bench_bessel(c: int, d: int, repeats: int) -> None:
    import torch

    from ltplug.core.bessel import vmf_log_norm, vmf_mean_resultant

    g = torch.Generator().manual_seed(0)
    kappa = (torch.rand(c, generator=g, dtype=torch.float64) * 60 + 4)
    kl = kappa.tolist()
    meter = OtherJobsMeter()
    results = {}

    def ours() -> None:
        results['ours'] = (vmf_mean_resultant(kappa, d), vmf_log_norm(kappa, d))

    def official() -> None:
        results['official'] = official_mpmath(kl, d)

    times = measure({'ours': Task(ours), 'official': Task(official)}, warmup=1, repeats=repeats)
    a_ours, b_ours = results['ours']
    a_ref, b_ref = (torch.tensor(x, dtype=torch.float64) for x in results['official'])
    err_a = float(((a_ours - a_ref).abs() / a_ref.abs()).max())
    err_b = float((b_ours - b_ref).abs().max())
    print(f'\n== b(kappa) and A_d(kappa) for C = {c} classes, d = {d} (kappa in [4, 64]): official mpmath recipe vs '
          'ltplug ==')
    print(f'warm-up 1 call, {repeats} interleaved rounds; median (min) ms\n')
    print('| row | median ms (min) | x ltplug | max difference to the official values |')
    print('|---|---:|---:|---:|')
    ours_med = stats_ms(times['ours'])[0]
    for key, label, diff in (('ours', 'ltplug (float64 torch, vectorised)', f'A: {err_a:.1e} rel, b: {err_b:.1e} abs'),
                             ('official', 'official recipe (mpmath `besseli` per class)', '0 (reference)')):
        med, low = stats_ms(times[key])
        ratio = med / ours_med
        print(f'| {label} | {fmt_ms(med)} ({fmt_ms(low)}) | {ratio:.{0 if ratio >= 10 else 2}f}x | {diff} |')
    print(f'\n({meter.note()})')


# ------------------------------------------------------------------------------------------------ training steps
def bench_steps(repeats: int, quick: bool) -> None:
    import torch
    from bench_heads import init_hub, make_samples, quiet_logger, step_task
    from mmpretrain.registry import MODELS

    import ltplug  # noqa: F401

    init_hub(45)
    quiet_logger()

    def counts(c: int) -> torch.Tensor:
        return torch.arange(c, 0, -1) + 4

    def model_task(head: dict, batch: int, c: int, depth: int, image: int) -> Task:
        torch.manual_seed(0)
        model = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=depth),
                                  neck=dict(type='GlobalAveragePooling'), head=head))
        if hasattr(model.head, 'vmf'):
            model.head.vmf.set_class_counts(counts(c))
        x = torch.randn(batch, 3, image, image)
        samples = make_samples([i % c for i in range(batch)])
        return step_task(model, lambda: model(x, samples, mode='loss'))

    def head_task(head: dict, d: int, batch: int, c: int) -> Task:
        torch.manual_seed(0)
        h = MODELS.build(head)
        if hasattr(h, 'vmf'):
            h.vmf.set_class_counts(counts(c))
        x = torch.randn(batch, d).relu()
        samples = make_samples([i % c for i in range(batch)])
        return step_task(h, lambda: h.loss((x,), samples))

    heads = {'linear': dict(type='LinearClsHead', loss=dict(type='CrossEntropyLoss')),
             'vMF': dict(type='VMFClsHead', aux_loss='none'),
             'vMF + ICD': dict(type='VMFClsHead', aux_loss='icd')}
    if quick:
        settings = [('head-only [quick]: d = 32, C = 12, batch 16',
                     lambda h: head_task(dict(h, num_classes=12, in_channels=32), 32, 16, 12)),
                    ('end-to-end [quick]: CifarResNet-8, 16x16, batch 4, C = 6',
                     lambda h: model_task(dict(h, num_classes=6, in_channels=64), 4, 6, 8, 16))]
    else:
        settings = [('head-only: d = 2048, C = 1000, batch 512 (the ImageNet-LT head)',
                     lambda h: head_task(dict(h, num_classes=1000, in_channels=2048), 2048, 512, 1000)),
                    ('end-to-end: CifarResNet-32, 32x32, batch 128, C = 100',
                     lambda h: model_task(dict(h, num_classes=100, in_channels=64), 128, 100, 32, 32))]
    for title, build in settings:
        meter = OtherJobsMeter()
        times = measure({name: build(cfg) for name, cfg in heads.items()}, warmup=1, repeats=repeats)
        print(f'\n== training step (zero_grad + loss + backward + SGD), {title} ==\n')
        print('| head | step ms (min) | x linear |')
        print('|---|---:|---:|')
        ref = stats_ms(times['linear'])[0]
        for name, values in times.items():
            med, low = stats_ms(values)
            print(f'| {name} | {fmt_ms(med)} ({fmt_ms(low)}) | {med / ref:.2f}x |')
        print(f'\n({repeats} rounds; {meter.note()})')


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--classes', type=int, nargs='+', default=[1000, 4096, 8142])
    p.add_argument('--dim', type=int, default=2048)
    p.add_argument('--threads', type=int, help='torch intra-op threads (default: torch default)')
    p.add_argument('--repeats', type=int, default=3, help='rounds for C > 2000 (at least 7 below)')
    p.add_argument('--dense-max', type=int, default=1000, help='largest C with the dense autograd row')
    p.add_argument('--skip-memory', action='store_true', help='no peak-memory probes (each is a fresh process)')
    p.add_argument('--skip-bessel', action='store_true')
    p.add_argument('--skip-step', action='store_true', help='only the ICD / Bessel sections')
    p.add_argument('--tiles', type=int, nargs='*', default=[],
                   help='extra forward + backward rows with these elementwise tile sizes (the default is 512)')
    p.add_argument('--quick', action='store_true', help='tiny sizes, 1 round (smoke test; figures meaningless)')
    args = p.parse_args(argv)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    bessel_c = 1000
    if args.quick:
        args.classes, args.dim, args.repeats, args.dense_max, bessel_c = [8, 16], 32, 1, 16, 8
    print_header('bench_vmf.py: vMF-OP pieces vs their floor' + (' [quick: figures meaningless]' if args.quick else ''))
    t0 = time.perf_counter()
    bench_icd(args.classes, args.dim, args.repeats, args.dense_max, not args.skip_memory, args.quick, tuple(args.tiles))
    if not args.skip_bessel:
        bench_bessel(bessel_c, 2048 if not args.quick else 64, args.repeats)
    if not args.skip_step:
        bench_steps(max(args.repeats, 5) if not args.quick else 1, args.quick)
    print(f'\n(total {time.perf_counter() - t0:.0f} s)')


if __name__ == '__main__':
    main()
