"""Training-step and inference timings of every ltplug classification head against a plain linear head (CPU).

Two settings, each printed as one table:

* ``head``: head-only, ImageNet-LT-like. Precomputed pooled features (256, 2048) (post-ReLU), C = 1000, long-tailed
  class counts 1280 -> 5. The heads get the features directly (no gradient to the features, as in a stage-2 / frozen-
  backbone step); CAMCalibratedClsHead gets the (256, 2048, 7, 7) map of a ResNet-50 and is compared with a linear head
  on the global average of the same map; the extrapolation head has K = 1000 targets + 1000 auxiliary neighbours; the
  two classifiers (``ImageClassifier`` / ``BCLClassifier``) run with a pass-through backbone that returns the features.
* ``e2e``: end-to-end, CIFAR-100-LT-like. CifarResNet-32 on 32 x 32 images, batch 128, C = 100 (counts 500 -> 5),
  every parameter trained (the CAM head takes the 8 x 8 map, ``neck=None``; BCL encodes its 3 views as one batch).

Per row: **step** = ``zero_grad`` + loss + backward + SGD(momentum 0.9, weight decay 5e-4) step in train mode;
**infer** = an eval-mode forward to the logits under ``torch.no_grad``. Rows are measured interleaved (every round runs
each row once, in a rotating order; steps and inference forwards in two passes, the cheap forwards with more rounds)
after a warm-up, and the median over the rounds is printed, with the minimum (the round least disturbed by other jobs)
and the ratio of the medians to the plain linear head (``x linear``) and to the matched reference of the row (``x ref``,
e.g. the same-K linear head), so a slow drift of a shared machine hits all rows alike. Nothing is asserted.

Usage: python benchmarks/bench_heads.py [--setting head e2e] [--warmup N] [--repeats N] [--infer-repeats N]
           [--threads N] [--quick]
(``--quick``: tiny shapes and one repetition, for the smoke test; the figures are meaningless.)
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

BUSY_LOAD = 1.5  # a 1-minute load average above this means the machine was shared while measuring


# ------------------------------------------------------------------------------------------------ machine and timing
def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (falls back to :mod:`platform` elsewhere)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total_gib() -> str:
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemTotal:'):
                    return f'{int(line.split()[1]) / 2 ** 20:.0f} GiB RAM'
    except (OSError, ValueError, IndexError):
        pass
    return 'RAM unknown'


BUSY_OTHERS = 0.2  # CPU cores used on average by other processes while timing, above which the figures are disturbed


def _system_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (all cores), from /proc/stat; None elsewhere."""
    try:
        with open('/proc/stat') as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)  # user nice system irq softirq steal
        return busy / os.sysconf('SC_CLK_TCK')
    except (OSError, ValueError, IndexError):
        return None


class OtherJobsMeter:
    """How many CPU cores *other* processes kept busy on average between construction and :meth:`note`.

    The machine's busy CPU time (/proc/stat) minus this process's own CPU time, divided by the wall time: a direct
    measure of interference during the timing, unlike the load average, which lags and counts this run's threads.
    """

    def __init__(self) -> None:
        self.wall, self.own, self.system = time.perf_counter(), time.process_time(), _system_busy_seconds()

    def cores(self) -> float | None:
        system = _system_busy_seconds()
        if system is None or self.system is None:
            return None
        wall = time.perf_counter() - self.wall
        others = (system - self.system) - (time.process_time() - self.own)
        return max(0.0, others) / wall if wall > 0 else None

    def note(self) -> str:
        cores = self.cores()
        if cores is None:
            return 'other jobs: unknown (no /proc/stat)'
        flag = (f'  <-- above {BUSY_OTHERS}: other jobs shared the CPU while timing, figures disturbed'
                if cores > BUSY_OTHERS else '  (machine otherwise idle)')
        return f'other jobs kept {cores:.2f} core(s) busy on average while timing{flag}'


def load_note(own_threads: int = 0) -> str:
    """The 1/5/15-minute load averages, flagged when the machine is busy.

    Measured while or right after this benchmark runs (``own_threads`` > 0), the load includes its own threads, so
    the threshold is raised by that many.
    """
    la = os.getloadavg()
    limit = BUSY_LOAD + own_threads
    busy = f'  <-- above {limit:g}: machine shared with other jobs, timings are noisy' if la[0] > limit else ''
    own = f', incl. this run\'s {own_threads} thread(s)' if own_threads else ''
    return f'{la[0]:.2f} / {la[1]:.2f} / {la[2]:.2f} (1 / 5 / 15 min{own}){busy}'


def machine_lines() -> list[str]:
    """Machine description printed above every table: date, CPU, cores, memory, software, threads, load."""
    import torch

    usable = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    threads_env = ', '.join(f'{k}={os.environ[k]}' for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS') if k in os.environ)
    return [
        f'date     : {datetime.now().astimezone().isoformat(timespec="seconds")}',
        f'CPU      : {cpu_model()}, {os.cpu_count()} logical cores ({usable} usable), {_mem_total_gib()}',
        f'software : Python {platform.python_version()}, torch {torch.__version__} (running on CPU), '
        f'{platform.system()} {platform.release()}',
        f'threads  : torch intra-op {torch.get_num_threads()}, inter-op {torch.get_num_interop_threads()}'
        + (f' ({threads_env})' if threads_env else ''),
        f'load avg : {load_note()}',
    ]


def print_header(title: str) -> None:
    print(f'# {title}')
    for line in machine_lines():
        print(f'# {line}')
    sys.stdout.flush()


@dataclass
class Task:
    """One timed callable; ``prepare`` runs untimed before every call (e.g. switching train / eval mode)."""

    run: Callable[[], object]
    prepare: Callable[[], object] | None = None

    def __call__(self) -> float:
        if self.prepare is not None:
            self.prepare()
        t0 = time.perf_counter()
        self.run()
        return time.perf_counter() - t0


def measure(tasks: dict[str, Task], warmup: int, repeats: int) -> dict[str, list[float]]:
    """Wall times (s) of every task: ``warmup`` untimed calls each, then ``repeats`` interleaved rounds.

    Round r runs the tasks in the order rotated by r, so neither position nor a slow drift of the machine favours one.
    """
    for task in tasks.values():
        for _ in range(warmup):
            task()
    keys = list(tasks)
    times: dict[str, list[float]] = {k: [] for k in keys}
    for r in range(repeats):
        shift = r % len(keys) if keys else 0
        for k in keys[shift:] + keys[:shift]:
            times[k].append(tasks[k]())
    return times


def median_ms(values: list[float] | None) -> float | None:
    return None if not values else 1e3 * statistics.median(values)


def fmt_ms(value: float | None) -> str:
    if value is None:
        return '-'
    return f'{value:.3f}' if value < 1 else f'{value:.2f}' if value < 100 else f'{value:.1f}'


def fmt_ratio(value: float | None, ref: float | None) -> str:
    return '-' if value is None or not ref else f'{value / ref:.2f}x'


# ------------------------------------------------------------------------------------------------ rows
@dataclass
class Row:
    """A table row: ``build()`` returns ``(step Task or None, infer Task or None)``; ``ref`` names the matched row."""

    key: str
    label: str
    build: Callable[[], tuple[Task | None, Task | None]]
    ref: str | None = None
    note: str = ''
    status: str = ''
    step: Task | None = field(default=None, repr=False)
    infer: Task | None = field(default=None, repr=False)


def lt_counts(num_classes: int, n_max: int, n_min: int):
    """Exponentially decaying long-tailed class counts n_max -> n_min (the CIFAR-LT / ImageNet-LT profile)."""
    import numpy as np

    if num_classes == 1:
        return np.array([n_max], dtype=np.int64)
    c = np.arange(num_classes)
    return np.maximum(1, np.floor(n_max * (n_min / n_max) ** (c / (num_classes - 1)))).astype(np.int64)


def make_samples(labels) -> list:
    from mmpretrain.structures import DataSample

    return [DataSample().set_gt_label(int(y)) for y in labels]


def give_class_counts(module, counts) -> None:
    """What ``ClassCountsHook`` does before a run: hand the counts to every sub-module with ``set_class_counts``."""
    for m in module.modules():
        if hasattr(m, 'set_class_counts') and getattr(m, 'num_classes', None) in (None, len(counts)):
            m.set_class_counts(counts)  # (the extrapolation loss has K = targets + auxiliaries: set separately)


def step_task(module, loss_fn: Callable[[], dict]) -> Task:
    """zero_grad + sum of the ``loss*`` entries + backward + SGD step, in train mode."""
    import torch

    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=5e-4)

    def run() -> None:
        opt.zero_grad(set_to_none=True)
        losses = loss_fn()
        total = sum(v for k, v in losses.items() if 'loss' in k)
        total.backward()
        opt.step()
    return Task(run, prepare=module.train)


def infer_task(module, forward: Callable[[], object]) -> Task:
    """Eval-mode forward to the logits without autograd."""
    import torch

    def run() -> None:
        with torch.no_grad():
            forward()
    return Task(run, prepare=module.eval)


def quiet_logger() -> None:
    """A current mmengine logger at WARNING level, so ``init_weights`` does not print every parameter."""
    from mmengine.logging import MMLogger

    MMLogger.get_instance('ltplug_bench', log_level='WARNING')


def init_hub(max_epochs: int = 90) -> None:
    """Epoch info for the epoch-dependent auxiliary-loss weights (RuntimeInfoHook sets it in a real run)."""
    from mmengine.logging import MessageHub

    hub = MessageHub.get_instance('ltplug_bench')
    hub.update_info('epoch', 0)
    hub.update_info('max_epochs', max_epochs)


@dataclass
class Sizes:
    batch: int
    dim: int
    classes: int
    aux: int  # auxiliary classes of the extrapolation head
    fmap: int  # spatial size of the CAM head's map (head-only setting)
    n_max: int
    n_min: int
    depth: int = 32  # CifarResNet depth (e2e)
    image: int = 32  # image size (e2e)


HEAD_SIZES = Sizes(batch=256, dim=2048, classes=1000, aux=1000, fmap=7, n_max=1280, n_min=5)
E2E_SIZES = Sizes(batch=128, dim=64, classes=100, aux=100, fmap=8, n_max=500, n_min=5)
QUICK_HEAD = Sizes(batch=8, dim=32, classes=12, aux=6, fmap=3, n_max=40, n_min=2)
QUICK_E2E = Sizes(batch=4, dim=64, classes=6, aux=3, fmap=4, n_max=20, n_min=2, depth=8, image=16)


def head_configs(s: Sizes) -> dict[str, dict]:
    """The head configs of both settings (as the method configs in configs/ set them)."""
    c, d = s.classes, s.dim
    ce = dict(type='CrossEntropyLoss', loss_weight=1.0)
    return {
        'linear': dict(type='LinearClsHead', num_classes=c, in_channels=d, loss=ce),
        'vmf': dict(type='VMFClsHead', num_classes=c, in_channels=d, aux_loss='none'),
        'vmf_icd': dict(type='VMFClsHead', num_classes=c, in_channels=d, aux_loss='icd'),
        'vmf_icd_cfc': dict(type='VMFClsHead', num_classes=c, in_channels=d, aux_loss='icd+cfc'),
        'cosine': dict(type='CosineClsHead', num_classes=c, in_channels=d, scale=30.0, loss=ce),
        'taunorm': dict(type='TauNormClsHead', num_classes=c, in_channels=d, tau=1.0, loss=ce),
        'lws': dict(type='LWSClsHead', num_classes=c, in_channels=d, loss=ce),
        'ncm': dict(type='NCMClsHead', num_classes=c, in_channels=d, feat_type='cl2n', dist_type='l2'),
        'cam': dict(type='CAMCalibratedClsHead', num_classes=c, in_channels=d, scale=16.0, loss=ce),
        'linear_k': dict(type='LinearClsHead', num_classes=c + s.aux, in_channels=d, loss=ce),
        'extrap': dict(type='ExtrapolationClsHead', num_classes=c + s.aux, num_target_classes=c, in_channels=d,
                       loss=dict(type='NeighbourSilencingLoss', mask_type='no_fm_remove_normal_neg', tau=1.0,
                                 label_smoothing=0.1)),
        'bcl_head': dict(type='CosineClsHead', num_classes=c, in_channels=d, scale=30.0,
                         loss=dict(type='LogitAdjustedLoss', tau=1.0, loss_weight=1.0)),
    }


def extrapolation_setup(head, s: Sizes, counts) -> None:
    """Counts over the K = targets + auxiliaries classes and one auxiliary neighbour per target (t, C + t mod aux)."""
    import numpy as np

    aux_counts = np.full(s.aux, 50, dtype=np.int64)  # auxiliaries: ~50 images each (docs/methods.md §5.3)
    targets = np.arange(s.classes)
    pairs = np.stack([targets, s.classes + targets % s.aux], axis=1)
    head.loss_module.set_neighbour_pairs(pairs)
    head.loss_module.set_class_counts(np.concatenate([counts, aux_counts]))


def build_rows(setting: str, s: Sizes) -> tuple[list[Row], str]:
    """The rows of one setting and its title."""
    import numpy as np
    import torch
    import torch.nn as nn
    from mmpretrain.registry import MODELS

    g = torch.Generator().manual_seed(0)
    counts = lt_counts(s.classes, s.n_max, s.n_min)
    rng = np.random.default_rng(0)
    labels = rng.choice(s.classes, size=s.batch, p=counts / counts.sum())
    samples = make_samples(labels)
    cfgs = head_configs(s)

    def build(cfg: dict):
        module = MODELS.build(cfg)
        module.init_weights()
        give_class_counts(module, counts)
        return module

    rows: list[Row] = []

    if setting == 'head':
        feats = (torch.randn(s.batch, s.dim, generator=g).relu(),)
        fmap = (torch.randn(s.batch, s.dim, s.fmap, s.fmap, generator=g).relu(),)

        def head_row(key: str, label: str, ref: str | None = None, inputs=feats, note: str = '',
                     trains: bool = True, infer_fn: str | None = None, cfg_key: str | None = None) -> Row:
            def make():
                head = build(cfgs[cfg_key or key])
                if key == 'extrap':
                    extrapolation_setup(head, s, counts)
                if key == 'ncm':
                    train_x = torch.randn(s.classes * 4, s.dim, generator=g).relu()
                    head.fit(train_x, torch.arange(s.classes).repeat(4))
                if callable(inputs):
                    get = inputs
                else:
                    def get():
                        return inputs
                step = step_task(head, lambda: head.loss(get(), samples)) if trains else None
                forward = getattr(head, infer_fn) if infer_fn else head
                return step, infer_task(head, lambda: forward(get()))
            return Row(key, label, make, ref=ref, note=note)

        class FeatureBackbone(nn.Module):
            """Pass-through 'backbone': the input already is the pooled feature (head-only classifier steps)."""

            def forward(self, x):
                return (x,)

        def model_row(key: str, label: str, bcl: bool, views: int, ref: str | None, note: str = '') -> Row:
            def make():
                head = cfgs['bcl_head'] if bcl else cfgs['linear']
                cfg = dict(type='BCLClassifier' if bcl else 'ImageClassifier', backbone=FeatureBackbone(), head=head)
                if bcl:
                    cfg.update(feat_dim=1024 if s.dim == 2048 else max(4, s.dim // 2), hidden_dim=s.dim,
                               contrast_loss=dict(type='BCLLoss', temperature=0.07, loss_weight=0.35))
                model = build(cfg)
                xs = [torch.randn(s.batch, s.dim, generator=g).relu() for _ in range(views)]
                inputs = xs if bcl else torch.cat(xs)
                view_samples = samples if bcl else samples * views
                step = step_task(model, lambda: model(inputs, view_samples, mode='loss'))
                return step, infer_task(model, lambda: model(xs[0], mode='tensor'))
            return Row(key, label, make, ref=ref, note=note)

        k = s.classes + s.aux
        rows += [
            head_row('linear', 'LinearClsHead (CE)'),
            head_row('vmf', 'VMFClsHead, no aux loss', note='cos x kappa + b(kappa) + log n_c'),
            head_row('vmf_icd', 'VMFClsHead + ICD', note='C x C overlap matrix every step'),
            head_row('vmf_icd_cfc', 'VMFClsHead + ICD + CFC'),
            head_row('cosine', 'CosineClsHead (s=30, CE)'),
            head_row('taunorm', 'TauNormClsHead (tau=1)', note='post-hoc; step shown for completeness'),
            head_row('lws', 'LWSClsHead', note='only the C scales train'),
            head_row('ncm', 'NCMClsHead (cl2n, l2)', trains=False, note='fitted, not trained: inference only'),
            # the CAM reference: a linear head on the global average of the same map (GAP inside the timed call)
            head_row('linear_map', f'LinearClsHead on GAP({s.fmap}x{s.fmap} map)', cfg_key='linear',
                     inputs=lambda: (fmap[0].mean(dim=(2, 3)),), note='CAM reference'),
            head_row('cam', f'CAMCalibratedClsHead ({s.fmap}x{s.fmap} map)', ref='linear_map', inputs=fmap),
            head_row('linear_k', f'LinearClsHead, K={k} (CE)', note='extrapolation reference'),
            head_row('extrap', f'ExtrapolationClsHead + NSL, K={k}', ref='linear_k', infer_fn='target_logits',
                     note=f'{s.aux} auxiliary classes; infer = {s.classes} target logits'),
            model_row('ic1', 'ImageClassifier (linear), 1 view', bcl=False, views=1, ref=None,
                      note='pass-through backbone'),
            model_row('ic3', 'ImageClassifier (linear), 3 views', bcl=False, views=3, ref='ic1',
                      note='3x the rows through the same head'),
            model_row('bcl', 'BCLClassifier, 3 views', bcl=True, views=3, ref='ic1',
                      note='cosine + LA-CE + MLPs + BCL loss'),
        ]
        title = (f'head-only, ImageNet-LT-like: features ({s.batch}, {s.dim}), C = {s.classes} '
                 f'(counts {s.n_max} -> {s.n_min})')
        return rows, title

    # ---------------------------------------------------------------------------------------------- end to end
    images = [torch.randn(s.batch, 3, s.image, s.image, generator=g) for _ in range(3)]
    backbone = dict(type='CifarResNet', depth=s.depth)
    gap = dict(type='GlobalAveragePooling')

    def model_row(key: str, label: str, head_key: str, ref: str | None = None, note: str = '', neck=gap,
                  trains: bool = True, bcl: bool = False, views: int = 1) -> Row:
        def make():
            cfg = dict(type='BCLClassifier' if bcl else 'ImageClassifier', backbone=backbone, neck=neck,
                       head=cfgs[head_key])
            if bcl:  # configs/_base_/models/bcl_cifar_resnet32.py
                cfg.update(feat_dim=128, hidden_dim=512,
                           contrast_loss=dict(type='BCLLoss', temperature=0.1, loss_weight=0.6))
            torch.manual_seed(0)
            model = build(cfg)
            if head_key == 'extrap':
                extrapolation_setup(model.head, s, counts)
            if head_key == 'ncm':
                model.head.fit(torch.randn(s.classes * 4, s.dim, generator=g).relu(),
                               torch.arange(s.classes).repeat(4))
            inputs = images if bcl else torch.cat(images[:views])
            view_samples = samples if bcl else samples * views
            step = step_task(model, lambda: model(inputs, view_samples, mode='loss')) if trains else None
            return step, infer_task(model, lambda: model(images[0], mode='tensor'))
        return Row(key, label, make, ref=ref, note=note)

    k = s.classes + s.aux
    rows += [
        model_row('linear', 'LinearClsHead (CE)', 'linear'),
        model_row('vmf', 'VMFClsHead, no aux loss', 'vmf'),
        model_row('vmf_icd', 'VMFClsHead + ICD', 'vmf_icd'),
        model_row('vmf_icd_cfc', 'VMFClsHead + ICD + CFC', 'vmf_icd_cfc'),
        model_row('cosine', 'CosineClsHead (s=30, CE)', 'cosine'),
        model_row('taunorm', 'TauNormClsHead (tau=1)', 'taunorm', note='post-hoc; step shown for completeness'),
        model_row('lws', 'LWSClsHead', 'lws', note='backbone + scales train (fc frozen)'),
        model_row('ncm', 'NCMClsHead (cl2n, l2)', 'ncm', trains=False, note='inference only'),
        model_row('cam', f'CAMCalibratedClsHead ({s.image // 4}x{s.image // 4} map)', 'cam', neck=None),
        model_row('linear_k', f'LinearClsHead, K={k} (CE)', 'linear_k', note='extrapolation reference'),
        model_row('extrap', f'ExtrapolationClsHead + NSL, K={k}', 'extrap', ref='linear_k',
                  note=f'{s.aux} auxiliary classes'),
        model_row('ic3', 'ImageClassifier (linear), 3 views', 'linear', ref='linear', views=3,
                  note='3x the images, one pass'),
        model_row('bcl', 'BCLClassifier, 3 views', 'bcl_head', ref='linear', bcl=True,
                  note='one encoder pass over 3B images'),
    ]
    title = (f'end-to-end, CIFAR-100-LT-like: CifarResNet-{s.depth}, {s.image}x{s.image} images, batch {s.batch}, '
             f'C = {s.classes} (counts {s.n_max} -> {s.n_min})')
    return rows, title


def run_setting(setting: str, s: Sizes, warmup: int, repeats: int, infer_repeats: int, markdown: bool = False) -> bool:
    """Build, time and print one setting; returns False if a row failed for another reason than a missing type."""
    import torch

    init_hub()
    rows, title = build_rows(setting, s)
    ok = True
    for row in rows:
        torch.manual_seed(0)
        try:
            row.step, row.infer = row.build()
        except KeyError as e:  # a type another engineer has not registered (yet)
            if 'registry' not in str(e) and 'not in the' not in str(e):
                raise
            row.status = 'not registered'
        except Exception as e:  # report it and go on with the other rows
            traceback.print_exc()
            row.status = f'build FAILED: {type(e).__name__}: {str(e)[:80]}'
            ok = False
    meter = OtherJobsMeter()
    print(f'\n== {title} ==')
    print(f'   warm-up {warmup}; steps: median (and min) of {repeats} interleaved rounds, inference: of '
          f'{infer_repeats}; load avg before: {load_note()}', flush=True)
    times: dict[str, list[float]] = {}
    for kind, n in (('step', repeats), ('infer', infer_repeats)):  # two passes: the cheap forwards get more rounds
        tasks = {f'{r.key}:{kind}': getattr(r, kind) for r in rows if getattr(r, kind) is not None}
        try:
            times.update(measure(tasks, warmup, n))
        except Exception:  # report it; the table shows what was measured
            traceback.print_exc()
            ok = False

    def stat(key: str, fn) -> float | None:
        values = times.get(key)
        return None if not values else 1e3 * fn(values)
    step = {r.key: stat(r.key + ':step', statistics.median) for r in rows}
    infer = {r.key: stat(r.key + ':infer', statistics.median) for r in rows}
    step_min = {r.key: stat(r.key + ':step', min) for r in rows}
    infer_min = {r.key: stat(r.key + ':infer', min) for r in rows}
    w = max(len(r.label) for r in rows)
    head = (f'{"row":<{w}} | {"step ms":>8} | {"(min)":>8} | {"x linear":>8} | {"x ref":>6} | {"infer ms":>8} | '
            f'{"(min)":>8} | {"x linear":>8} | {"x ref":>6} | note')
    print(head)
    print('-' * len(head))
    for r in rows:
        ref_s = fmt_ratio(step[r.key], step.get(r.ref)) if r.ref else ''
        ref_i = fmt_ratio(infer[r.key], infer.get(r.ref)) if r.ref else ''
        note = r.status or r.note
        if r.ref:
            note = f'ref: {next(x.label for x in rows if x.key == r.ref)}' + (f'; {note}' if note else '')
        print(f'{r.label:<{w}} | {fmt_ms(step[r.key]):>8} | {fmt_ms(step_min[r.key]):>8} | '
              f'{fmt_ratio(step[r.key], step["linear"]):>8} | {ref_s:>6} | {fmt_ms(infer[r.key]):>8} | '
              f'{fmt_ms(infer_min[r.key]):>8} | {fmt_ratio(infer[r.key], infer["linear"]):>8} | {ref_i:>6} | {note}')
    print('   ratios use the medians; the min is the run least disturbed by other jobs')
    if markdown:  # the same figures as the rows of docs/benchmarks.md
        print('\n| row | step ms (min) | x linear | x ref | infer ms (min) | x linear | x ref |')
        print('|---|---:|---:|---:|---:|---:|---:|')
        for r in rows:
            cells = []
            for med, low in ((step, step_min), (infer, infer_min)):
                ref = fmt_ratio(med[r.key], med.get(r.ref)) if r.ref else ''
                cells += ['-' if med[r.key] is None else f'{fmt_ms(med[r.key])} ({fmt_ms(low[r.key])})',
                          fmt_ratio(med[r.key], med['linear']).replace('-', ''), ref]
            print(f'| {r.label} | ' + ' | '.join(cells) + ' |')
    print(f'   {meter.note()}')
    print(f'   load avg after: {load_note(torch.get_num_threads())}', flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--setting', nargs='+', choices=('head', 'e2e'), default=['head', 'e2e'])
    p.add_argument('--warmup', type=int, help='untimed calls per row before timing (default 2 head-only, 1 end-to-end, '
                   'whose calls take seconds)')
    p.add_argument('--repeats', type=int, help='interleaved timed rounds of the steps; the median is shown '
                   '(default 7 head-only, 5 end-to-end)')
    p.add_argument('--infer-repeats', type=int, help='rounds of the inference forwards (default 21 head-only, '
                   '7 end-to-end)')
    p.add_argument('--threads', type=int, help='torch intra-op threads (default: torch default)')
    p.add_argument('--quick', action='store_true', help='tiny shapes, 1 round, no warm-up (smoke test only)')
    p.add_argument('--markdown', action='store_true', help='also print each table as docs/benchmarks.md rows')
    args = p.parse_args(argv)
    import torch
    from mmengine.registry import init_default_scope

    import ltplug  # noqa: F401  (registers the ltplug types)

    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmpretrain')
    quiet_logger()
    if args.quick:
        args.warmup, args.repeats, args.infer_repeats = 0, 1, 1
    quick = ' [--quick: tiny shapes, figures meaningless]' if args.quick else ''
    print_header('bench_heads: head step / inference time vs a plain linear head' + quick)
    ok = True
    for setting in args.setting:
        sizes = {'head': QUICK_HEAD if args.quick else HEAD_SIZES, 'e2e': QUICK_E2E if args.quick else E2E_SIZES}
        head = setting == 'head'
        warmup = args.warmup if args.warmup is not None else (2 if head else 1)
        repeats = args.repeats or (7 if head else 5)
        infer_repeats = args.infer_repeats or (21 if head else 7)
        ok &= run_setting(setting, sizes[setting], warmup, repeats, infer_repeats, args.markdown)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
