"""The results table of a long-tailed data set: every method, several seeds, paired differences to joint CE.

Every method runs through the tools a user runs (tools/train.py, tools/test.py, the decoupling and vMF tools) from its
shipped config, and is evaluated on the balanced test split by ``LongTailAccuracy``. For each seed all methods share the
training seed (``randomness.seed``) and the long-tailed train / val split of the config, so each method's difference to
joint CE (instance-balanced) is paired by seed; the table reports it with a 95% t-interval over the seeds, for many /
medium / few (mean per-class accuracy of the classes with > many_thr / many_thr..few_thr / < few_thr training images,
thresholds of the config) and all. An empty shot split is shown as '–', never as 0.

Outputs in ``--out``: ``table.md``, ``results.json`` (every run's summary and per-class accuracy, and the table),
``per_class_acc.png`` (per-class test accuracy against training count, every method), ``calibration_sweep.png`` (the
vMF calibration sweep on val, where alpha is chosen, and on test) and ``overlap_<method>/heatmap.png``
(tools/vmf/overlap_report.py on the first seed's vMF checkpoints). One line per finished run with its time; a run
whose ``result.json`` exists is not redone, so re-running the same command resumes a half-finished table (a run
interrupted midway is set aside as ``<run>.incomplete-N`` and redone). Ablations (``ABLATIONS``) run only when named
in ``--methods`` and then appear as rows of the same table; ``--pairs "A=B"`` adds the paired differences between two
rows (e.g. a method and the ablation that explains it).

Usage (inside the environment, one thread per run):
    python tools/results/lt_table.py --dataset fashion-mnist-lt --out work_dirs/results_fmnist --seeds 0 1 2 3 4 \
        [--jobs 2] [--methods "joint (IB)" vMF ...] [--epochs E] [--replot] [--pairs "A=B" ...]
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys
import threading
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PY = sys.executable
COLS = ('many', 'medium', 'few', 'all', 'ece')
BASELINE = 'joint (IB)'


def _suite(tag: str, caption: str, depth: int | None = None) -> dict:
    """The configs of one data set; ``tag`` is the config-name suffix (e.g. 'fashion-mnist-lt-if100')."""
    net = 'cifar-resnet20' if tag == 'digits-lt' else 'cifar-resnet8'  # every config name says the depth it runs

    def cfg(folder: str, method: str) -> str:
        return f'configs/{folder}/{method}_{net}_{tag}.py'
    return dict(
        caption=caption, depth=depth,
        joint=cfg('decoupling', 'joint'), crt=cfg('decoupling', 'crt'), lws=cfg('decoupling', 'lws'),
        vmf=cfg('vmf', 'vmf'), vmf_icd=cfg('vmf', 'vmf-icd'), bcl=cfg('bcl', 'bcl'),
        camc=cfg('camc', 'camc'), balce=cfg('lfn', 'balce'), lfn=cfg('lfn', 'lfn'),
        ldam_drw=cfg('ldam_drw', 'ldam-drw'), cb_focal=cfg('cb_loss', 'cb-focal'))


SUITES = {
    'fashion-mnist-lt': _suite('fashion-mnist-lt-if100', 'Fashion-MNIST-LT IF 100 (n_max 1,000: 2,478 train images, '
                               'val 100 per class carved out first), balanced test split (10,000 images)'),
    'fashion-mnist-lt-if10': _suite('fashion-mnist-lt-if10', 'Fashion-MNIST-LT IF 10 (n_max 1,000: 4,084 train '
                                    'images, val 100 per class carved out first), balanced test split (10,000 images)'),
    'digits-lt': _suite('digits-lt', 'Digits-LT IF 20 (405 train images), test split (400 images, 40 per class)'),
}
SAMPLER = 'train_dataloader.sampler.type='
# name -> (kind, config key in the suite, extra --cfg-options of the training). 'train': train + test; 'stage2' /
# 'taunorm' / 'ncm' / 'posthoc_la' derive from the same seed's joint (IB) checkpoint; 'vmf': train, test, calibrate on
# val, test.
METHODS: dict[str, tuple[str, str, list[str]]] = {
    'joint (IB)': ('train', 'joint', []),
    'joint (CB)': ('train', 'joint', [SAMPLER + 'ClassBalancedSampler']),
    'joint (SR)': ('train', 'joint', [SAMPLER + 'SquareRootSampler']),
    'joint (PB)': ('train', 'joint', [SAMPLER + 'ProgressivelyBalancedSampler']),
    'cRT': ('stage2', 'crt', []),
    'LWS': ('stage2', 'lws', []),
    'tau-norm': ('taunorm', 'joint', []),
    'NCM': ('ncm', 'joint', []),
    'balanced CE': ('train', 'balce', []),
    'post-hoc LA': ('posthoc_la', 'joint', []),
    'LDAM-DRW': ('train', 'ldam_drw', []),
    'CB focal': ('train', 'cb_focal', []),
    'vMF': ('vmf', 'vmf', []),
    'vMF + ICD': ('vmf', 'vmf_icd', []),
    'BCL': ('train', 'bcl', []),
    'CAM calibration': ('train', 'camc', []),
    'category extrapolation': ('train', 'lfn', []),
}
# Ablations that explain a row of the table: run only when named in --methods; once run, the table shows them after
# the methods (same seeds, same paired differences to joint CE).
ABLATIONS: dict[str, tuple[str, str, list[str]]] = {
    # LWS with the frozen backbone's BatchNorm in eval mode (stage 2 otherwise re-estimates its statistics on
    # class-balanced batches, as officially, and the scales of the fixed classifier cannot follow the changed features)
    'LWS with BN frozen (ablation)': ('stage2', 'lws', ['custom_hooks.1.norm_eval=True']),
    # the CAM head's normalised, scaled classifier trained without the CAM re-weighting: which part costs accuracy
    'CAM head without CAM (ablation)': ('train', 'camc', ['model.head.use_cam=False']),
    # BCL without its contrastive loss (beta = 0): its cosine classifier with the logit-adjusted loss and its views
    'BCL without contrastive loss (ablation)': ('train', 'bcl', ['model.contrast_loss.loss_weight=0.0']),
}
ALL_METHODS = {**METHODS, **ABLATIONS}
_print_lock = threading.Lock()


def tag_of(name: str) -> str:
    return name.replace(' + ', '_').replace(' ', '_').replace('(', '').replace(')', '').replace('-', '').lower()


# --- running the tools -----------------------------------------------------------------------------------------------
def run(cmd: list[str], log: str) -> None:
    """Run a tool with one intra-op thread, appending its output to ``log``; stop with the log's tail on failure."""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    env.setdefault('OMP_NUM_THREADS', '1')
    env.setdefault('MKL_NUM_THREADS', '1')
    with open(log, 'a') as f:
        f.write('\n$ ' + ' '.join(cmd) + '\n')
        f.flush()
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'command failed ({proc.returncode}): {" ".join(cmd)}\n{tail}')


def derived_config(src: str, out_dir: str, name: str, epochs: int | None, depth: int | None,
                   options: list[str]) -> str:
    """Write ``src`` with the run's overrides (sampler, epochs, depth) as a full config every tool of the run reads."""
    from mmengine.config import Config
    path = osp.join(out_dir, f'{name}.py')
    if osp.exists(path):
        return path
    cfg = Config.fromfile(osp.join(REPO, src))
    if options:
        cfg.merge_from_dict({key: _literal(value) for key, value in (opt.split('=', 1) for opt in options)})
    if depth is not None:
        cfg.merge_from_dict({'model.backbone.depth': depth})
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
        cfg.train_cfg.val_interval = epochs
        for sched in cfg.param_scheduler:
            for key in ('T_max', 'end', 'num_epochs'):
                if key in sched:
                    sched[key] = epochs
    os.makedirs(out_dir, exist_ok=True)
    cfg.dump(path)
    return path


def _literal(value: str):
    """A --cfg-options value as tools/train.py reads it (mmengine's DictAction: True, 3, 0.5, [1, 2], or a string)."""
    from mmengine.config import DictAction
    return DictAction._parse_iterable(value)


def test_summary(config: str, ckpt: str, work: str, log: str) -> dict:
    """tools/test.py on the test split; returns LongTailAccuracy's per-class JSON."""
    run([PY, 'tools/test.py', config, ckpt, '--work-dir', work], log)
    files = sorted(glob.glob(osp.join(work, '*', 'per_class_acc', 'test.json')))
    if not files:
        raise RuntimeError(f'no LongTailAccuracy output under {work}')
    with open(files[-1]) as f:
        return json.load(f)


def last_ckpt(work: str) -> str:
    with open(osp.join(work, 'last_checkpoint')) as f:
        return f.read().strip()


def train(config: str, work: str, log: str, options: list[str]) -> str:
    run([PY, 'tools/train.py', config, '--work-dir', work, '--cfg-options', *options], log)
    return last_ckpt(work)


def shots(res: dict) -> dict:
    """many / medium / few / all (percent) from the per-class accuracies; None for an empty split."""
    many_thr, few_thr = res['many_thr'], res['few_thr']
    out = {}
    for col, keep in (('many', lambda n: n > many_thr), ('medium', lambda n: few_thr <= n <= many_thr),
                      ('few', lambda n: n < few_thr)):
        acc = [c['accuracy'] for c in res['per_class'] if keep(c['train_count']) and c['accuracy'] is not None]
        out[col] = 100.0 * float(np.mean(acc)) if acc else None
    out['all'] = float(res['summary']['top1'])
    ece = res['summary'].get('ece')  # expected calibration error (%), 15 bins (LongTailAccuracy)
    out['ece'] = None if ece is None else float(ece)
    return out


class SeedRunner:
    """All requested methods of one seed, each in ``<out>/seed<s>/<tag>``; finished runs are read back, not redone."""

    def __init__(self, suite: dict, seed: int, out: str, epochs: int | None, counter: list[int], total: int) -> None:
        self.suite, self.seed, self.epochs = suite, seed, epochs
        self.sdir = osp.join(out, f'seed{seed}')
        self.cfg_dir = osp.join(out, 'configs')
        self.counter, self.total = counter, total
        self.lock = threading.RLock()  # this seed's joint run and its shared feature file
        os.makedirs(self.sdir, exist_ok=True)

    def config(self, key: str, name: str = '', options: list[str] = ()) -> str:
        return derived_config(self.suite[key], self.cfg_dir, f'{key}{"_" + name if name else ""}', self.epochs,
                              self.suite['depth'], list(options))

    def joint_ckpt(self) -> str:
        work = osp.join(self.sdir, tag_of(BASELINE), 'train')
        with self.lock:  # waits while another worker trains this seed's joint model
            if not osp.exists(osp.join(self.sdir, tag_of(BASELINE), 'result.json')):  # after its checkpoint
                self.method(BASELINE)
        return last_ckpt(work)

    def log_of(self, name: str) -> str:
        """The log of one method's tool runs (per method: runs of one seed may run side by side)."""
        return osp.join(self.sdir, f'{tag_of(name)}.log')

    def method(self, name: str) -> dict:
        if name == BASELINE:  # other methods of this seed wait for its checkpoint (see joint_ckpt)
            with self.lock:
                return self._method(name)
        return self._method(name)

    def _method(self, name: str) -> dict:
        log = self.log_of(name)
        work = osp.join(self.sdir, tag_of(name))
        done = osp.join(work, 'result.json')
        if osp.exists(done):
            with open(done) as f:
                return json.load(f)
        if osp.exists(work):  # interrupted earlier: keep it aside, never delete
            n = 1
            while osp.exists(f'{work}.incomplete-{n}'):
                n += 1
            os.rename(work, f'{work}.incomplete-{n}')
        kind, key, options = ALL_METHODS[name]
        seed_opt = [f'randomness.seed={self.seed}']
        t0 = time.time()
        extra = {}
        if kind in ('taunorm', 'ncm', 'stage2', 'posthoc_la'):
            joint_cfg, ckpt = self.config('joint'), self.joint_ckpt()
        os.makedirs(work)
        if kind == 'train':
            cfg = self.config(key, tag_of(name) if options else '', options)
            res = test_summary(cfg, train(cfg, osp.join(work, 'train'), log, seed_opt), osp.join(work, 'test'),
                               log)
        elif kind == 'stage2':
            cfg = self.config(key, tag_of(name) if options else '', options)
            res = test_summary(cfg, train(cfg, osp.join(work, 'train'), log, seed_opt + [f'load_from={ckpt}']),
                               osp.join(work, 'test'), log)
        elif kind in ('taunorm', 'ncm'):
            feats = osp.join(self.sdir, 'joint_ib_feats.npz')  # shared by tau-norm and NCM
            with self.lock:  # extracted once, even when tau-norm and NCM of this seed run side by side
                if not osp.exists(feats):
                    run([PY, 'tools/decoupling/extract_features.py', joint_cfg, ckpt, '--out', feats + '.tmp.npz',
                         '--force'], log)
                    os.replace(feats + '.tmp.npz', feats)
            cfg, out_ckpt = osp.join(work, f'{kind}.py'), osp.join(work, f'{kind}.pth')
            if kind == 'taunorm':
                run([PY, 'tools/decoupling/tau_sweep.py', feats, '--config', joint_cfg, '--checkpoint', ckpt,
                     '--out-config', cfg, '--out-checkpoint', out_ckpt], log)
                extra['tau'] = _tau_from_config(cfg)
            else:
                run([PY, 'tools/decoupling/fit_ncm.py', joint_cfg, ckpt, '--features', feats, '--out-config', cfg,
                     '--out-checkpoint', out_ckpt], log)
            res = test_summary(cfg, out_ckpt, osp.join(work, 'test'), log)
        elif kind == 'posthoc_la':  # tau chosen on val by the user tool, baked into a new checkpoint
            out_ckpt = osp.join(work, 'posthoc_la.pth')
            run([PY, 'tools/logit_adjust/posthoc_la.py', joint_cfg, ckpt, '--split', 'val', '--out', out_ckpt,
                 '--json', osp.join(work, 'sweep_val.json')], log)
            with open(osp.join(work, 'sweep_val.json')) as f:
                extra['tau'] = float(json.load(f)['tau'])
            res = test_summary(joint_cfg, out_ckpt, osp.join(work, 'test'), log)
        else:  # vmf
            cfg = self.config(key)
            ckpt = train(cfg, osp.join(work, 'train'), log, seed_opt)
            res = test_summary(cfg, ckpt, osp.join(work, 'test'), log)
            calib = osp.join(work, 'calibrated.pth')
            run([PY, 'tools/vmf/calibrate.py', cfg, ckpt, '--split', 'val', '--out', calib,
                 '--json', osp.join(work, 'sweep_val.json')], log)
            # the same sweep on test is only reported (plot): alpha comes from val
            run([PY, 'tools/vmf/calibrate.py', cfg, ckpt, '--split', 'test', '--no-save',
                 '--json', osp.join(work, 'sweep_test.json')], log)
            with open(osp.join(work, 'sweep_val.json')) as f:
                alpha = json.load(f)['alpha']
            cal = test_summary(cfg, calib, osp.join(work, 'test_calibrated'), log)
            extra['calibrated'] = dict(alpha=alpha, shots=shots(cal), per_class=cal['per_class'])
            extra['checkpoint'] = ckpt
        result = dict(method=name, seed=self.seed, seconds=time.time() - t0, shots=shots(res),
                      per_class=res['per_class'], many_thr=res['many_thr'], few_thr=res['few_thr'], **extra)
        with open(done + '.tmp', 'w') as f:
            json.dump(result, f, indent=1)
        os.replace(done + '.tmp', done)
        with _print_lock:
            self.counter[0] += 1
            s = result['shots']
            print(f'[{self.counter[0]}/{self.total}] seed {self.seed} {name}: {result["seconds"]:.0f} s '
                  f'(all {s["all"]:.1f}, few {fmt(s["few"])})', flush=True)
        return result


def _tau_from_config(path: str) -> float:
    from mmengine.config import Config
    return float(Config.fromfile(path).model.head.tau)


# --- statistics and outputs ------------------------------------------------------------------------------------------
def fmt(v: float | None, digits: int = 1) -> str:
    return '–' if v is None or (isinstance(v, float) and math.isnan(v)) else f'{v:.{digits}f}'


def t_interval(d: np.ndarray) -> tuple[float, float, float] | None:
    """Mean and 95% two-sided t-interval of paired differences; None when fewer than 2 pairs."""
    if d.size < 2:
        return None
    from scipy.stats import t
    half = float(t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def paired_delta(per_a: dict[int, dict], per_b: dict[int, dict], col: str) -> tuple[float, float, float] | None:
    """A - B of one column over the seeds both rows have (mean and 95% t-interval; None below 2 pairs)."""
    d = [per_a[k]['shots'][col] - per_b[k]['shots'][col] for k in sorted(per_a) if k in per_b
         and per_a[k]['shots'][col] is not None and per_b[k]['shots'][col] is not None]
    return t_interval(np.array(d, dtype=float))


def delta_cell(d: tuple[float, float, float] | None) -> str:
    return '–' if d is None else f'{d[0]:+.1f} [{d[1]:+.1f}, {d[2]:+.1f}]'


def rows_by_method(runs: list[dict]) -> dict[str, dict[int, dict]]:
    """method row name -> seed -> shots; the calibrated vMF runs get their own rows."""
    out: dict[str, dict[int, dict]] = {}
    order = list(ALL_METHODS)
    for r in sorted(runs, key=lambda r: (order.index(r['method']), r['seed'])):
        out.setdefault(r['method'], {})[r['seed']] = r
        if 'calibrated' in r:
            out.setdefault(f'{r["method"]} + calibration', {})[r['seed']] = dict(
                r['calibrated'], seed=r['seed'])
    return out


def summarise(runs: list[dict]) -> dict[str, dict]:
    by = rows_by_method(runs)
    base = by.get(BASELINE, {})
    table = {}
    for name, per_seed in by.items():
        row: dict = {'seeds': sorted(per_seed)}
        for c in COLS:
            vals = np.array([s['shots'][c] for s in per_seed.values() if s['shots'][c] is not None], dtype=float)
            sd = float(vals.std(ddof=1)) if vals.size > 1 else None
            row[c] = None if vals.size == 0 else (float(vals.mean()), sd)
            row[f'delta_{c}'] = None if name == BASELINE else paired_delta(per_seed, base, c)
        if any('alpha' in s for s in per_seed.values()):
            row['alpha'] = [per_seed[k]['alpha'] for k in sorted(per_seed)]
        if any('tau' in s for s in per_seed.values()):
            row['tau'] = [per_seed[k]['tau'] for k in sorted(per_seed)]
        table[name] = row
    return table


def markdown(table: dict, caption: str, seeds: list[int], thr: tuple[int, int]) -> str:
    lines = [f'{caption}; top-1 %, mean ± std over seeds {seeds} (training seed; the split is fixed).',
             f'many / medium / few: mean per-class accuracy of the classes with > {thr[0]} / {thr[1]}..{thr[0]} / '
             f'< {thr[1]} training images; – = no class in that split.',
             f'Δ: paired difference to {BASELINE} on the same seeds, mean [95% t-interval].',
             'ECE: expected calibration error (%, 15 equal-width confidence bins; lower is better).',
             '', '| method | many | medium | few | all | ECE | Δ many | Δ medium | Δ few | Δ all | Δ ECE |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for name, row in table.items():
        cells = ['–' if row[c] is None else f'{row[c][0]:.1f}' + ('' if row[c][1] is None else f' ± {row[c][1]:.1f}')
                 for c in COLS]
        deltas = []
        for c in COLS:
            d = row[f'delta_{c}']
            deltas.append('' if name == BASELINE else delta_cell(d))
        label = name if len(row['seeds']) == len(seeds) else f'{name} [seeds {row["seeds"]}]'
        if 'alpha' in row:
            label += f' (α on val: {", ".join(f"{a:g}" for a in row["alpha"])})'
        if 'tau' in row:
            label += f' (τ on val: {", ".join(f"{a:g}" for a in row["tau"])})'
        lines.append(f'| {label} | ' + ' | '.join(cells + deltas) + ' |')
    return '\n'.join(lines)


def plot_per_class(runs: list[dict], out: str, caption: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    by = rows_by_method(runs)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    colours = plt.get_cmap('tab20')
    for i, (name, per_seed) in enumerate(by.items()):
        rows = list(per_seed.values())
        counts = np.array([c['train_count'] for c in rows[0]['per_class']])
        acc = 100 * np.nanmean([[np.nan if c['accuracy'] is None else c['accuracy'] for c in r['per_class']]
                                for r in rows], axis=0)
        order = np.argsort(-counts, kind='stable')
        ax.plot(counts[order], acc[order], marker='os^vD'[i % 5], linestyle=('-', '--')[i % 2], color=colours(i % 20),
                label=name)
    ax.set_xscale('log')
    ax.set_xlabel('training images of the class (log)')
    ax.set_ylabel('test accuracy of the class (%), mean over seeds')
    ax.set_title(caption.split(' (')[0] + ': per-class accuracy vs training count')
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'per_class_acc.png'), dpi=120)
    plt.close(fig)


def plot_sweeps(out: str, seeds: list[int]) -> None:
    """Calibration sweep (seed mean) of every vMF method: many / medium / few / all against alpha, on val and test."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    methods = [m for m, spec in METHODS.items() if spec[0] == 'vmf']
    found = {m: {s: [osp.join(out, f'seed{k}', tag_of(m), f'sweep_{s}.json') for k in seeds] for s in ('val', 'test')}
             for m in methods}
    found = {m: {s: [p for p in ps if osp.exists(p)] for s, ps in v.items()} for m, v in found.items()}
    found = {m: v for m, v in found.items() if v['val']}
    if not found:
        return
    fig, axes = plt.subplots(len(found), 2, figsize=(10, 3.6 * len(found)), squeeze=False)
    for i, (m, files) in enumerate(found.items()):
        for j, split in enumerate(('val', 'test')):
            ax = axes[i][j]
            sweeps = []
            for p in files[split]:
                with open(p) as f:
                    sweeps.append(json.load(f)['rows'])
            if not sweeps:
                continue
            alphas = [r['alpha'] for r in sweeps[0]]
            for c, style in zip(COLS, ('-', '--', ':', '-')):
                vals = np.array([[np.nan if r.get(c) is None else r[c] for r in s] for s in sweeps], dtype=float)
                if np.all(np.isnan(vals)):
                    continue
                ax.plot(alphas, np.nanmean(vals, axis=0), style, marker='o', lw=2.5 if c == 'all' else 1.2, label=c)
            ax.set_title(f'{m}: calibration sweep on {split} ({len(sweeps)} seeds)')
            ax.set_xlabel('alpha (1 = uncalibrated)')
            ax.set_ylabel('top-1 %')
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'calibration_sweep.png'), dpi=110)
    plt.close(fig)


def overlap_maps(runs: list[dict], out: str) -> None:
    """tools/vmf/overlap_report.py (heat map of O_ij) on the first seed's checkpoint of every vMF method."""
    for r in sorted(runs, key=lambda r: r['seed']):
        if 'checkpoint' not in r:
            continue
        dest = osp.join(out, f'overlap_{tag_of(r["method"])}')
        if not osp.exists(dest):
            run([PY, 'tools/vmf/overlap_report.py', r['checkpoint'], '--out-dir', dest], osp.join(out, 'log.txt'))


def paired_rows(runs: list[dict], pairs: list[tuple[str, str]]) -> tuple[list[dict], str]:
    """Paired differences A - B of two rows of the table (e.g. a method and the ablation that explains it), on the
    seeds both have: the records and a Markdown table."""
    by = rows_by_method(runs)
    records, lines = [], ['Paired differences between rows, A − B on the seeds both have: mean [95% t-interval].', '',
                          '| A | B | seeds | Δ many | Δ medium | Δ few | Δ all |', '|---|---|---|---|---|---|---|']
    for a, b in pairs:
        if a not in by or b not in by:
            raise SystemExit(f'error: --pairs {a}={b}: no finished runs of {a if a not in by else b!r}')
        seeds = sorted(set(by[a]) & set(by[b]))
        rec = dict(a=a, b=b, seeds=seeds, **{c: paired_delta(by[a], by[b], c) for c in COLS[:4]})
        records.append(rec)
        cells = [delta_cell(rec[c]) for c in COLS[:4]]
        lines.append(f'| {a} | {b} | {seeds} | ' + ' | '.join(cells) + ' |')
    return records, '\n'.join(lines)


def write_outputs(runs: list[dict], out: str, suite: dict, seeds: list[int], dataset: str,
                  pairs: list[tuple[str, str]] = ()) -> str:
    table = summarise(runs)
    thr = (runs[0]['many_thr'], runs[0]['few_thr'])
    md = markdown(table, suite['caption'], seeds, thr)
    pair_records = []
    if pairs:
        pair_records, pair_md = paired_rows(runs, list(pairs))
        md += '\n\n' + pair_md
    with open(osp.join(out, 'table.md'), 'w') as f:
        f.write(md + '\n')
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(dict(dataset=dataset, seeds=seeds, caption=suite['caption'], table=table, pairs=pair_records,
                       runs=runs), f, indent=1)
    plot_per_class(runs, out, suite['caption'])
    plot_sweeps(out, seeds)
    return md


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dataset', required=True, choices=sorted(SUITES))
    parser.add_argument('--out', required=True, help='output folder (re-run the same command to resume)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    parser.add_argument('--methods', nargs='+', choices=list(ALL_METHODS), metavar='METHOD',
                        help=f'methods to run (default all): {", ".join(METHODS)}; ablations, run only when named: '
                        f'{", ".join(ABLATIONS)}; {BASELINE!r} always runs')
    parser.add_argument('--epochs', type=int, help='override every training\'s epochs (quick checks)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs side by side, one thread each (the next (seed, method) run starts as one ends)')
    parser.add_argument('--replot', action='store_true', help='only rebuild table and plots from finished runs')
    parser.add_argument('--pairs', nargs='+', default=[], metavar='A=B',
                        help='also tabulate the paired difference of row A to row B (e.g. "BCL=balanced CE")')
    args = parser.parse_args()
    suite = SUITES[args.dataset]
    pairs = []
    for spec in args.pairs:  # checked before any run starts
        if '=' not in spec:
            sys.exit(f'error: --pairs takes A=B (two row names), got {spec!r}')
        pairs.append(tuple(part.strip() for part in spec.split('=', 1)))
    names = [BASELINE] + [m for m in (args.methods or METHODS) if m != BASELINE]
    os.makedirs(args.out, exist_ok=True)
    stamp = osp.join(args.out, 'command.json')
    setting = dict(dataset=args.dataset, epochs=args.epochs)
    if osp.exists(stamp):
        with open(stamp) as f:
            old = json.load(f)
        if old != setting:
            sys.exit(f'error: {args.out} holds runs of another setting {old}; choose another --out')
    else:
        with open(stamp, 'w') as f:
            json.dump(setting, f)
    if not args.replot:
        total = len(names) * len(args.seeds)
        counter = [sum(osp.exists(osp.join(args.out, f'seed{s}', tag_of(n), 'result.json'))
                       for s in args.seeds for n in names)]  # finished earlier: read back, not redone
        if counter[0]:
            print(f'resuming: {counter[0]} of {total} runs finished earlier', flush=True)
        failures: list[str] = []

        runners = {seed: SeedRunner(suite, seed, args.out, args.epochs, counter, total) for seed in args.seeds}
        # (seed, method) tasks, method-major: every seed's joint model first, then the rest; workers take the next
        # task as they finish, so no core idles while runs remain (a task that needs its seed's joint waits for it)
        tasks = [(seed, name) for name in names for seed in args.seeds]
        task_lock = threading.Lock()

        def worker() -> None:
            while True:
                with task_lock:
                    if not tasks:
                        return
                    seed, name = tasks.pop(0)
                runner = runners[seed]
                try:
                    runner.method(name)
                except RuntimeError as e:  # keep going: the table shows what ran, the log says what failed
                    with _print_lock:
                        failures.append(f'seed {seed} {name}')
                        print(f'  seed {seed} {name}: FAILED ({str(e).splitlines()[0]}); see {runner.log_of(name)}',
                              flush=True)
        print(f'{args.dataset}: {len(names)} methods x {len(args.seeds)} seeds -> {args.out}', flush=True)
        # the derived configs are written once, before the runs go side by side
        first = runners[args.seeds[0]]
        for name in names:
            kind, key, options = ALL_METHODS[name]
            first.config(key, tag_of(name) if options else '', options)
        threads = [threading.Thread(target=worker) for _ in range(max(1, args.jobs))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    runs = []
    for seed in args.seeds:
        for path in sorted(glob.glob(osp.join(args.out, f'seed{seed}', '*', 'result.json'))):
            with open(path) as f:
                runs.append(json.load(f))
    if not runs:
        sys.exit('error: no finished run to tabulate')
    overlap_maps(runs, args.out)
    print(write_outputs(runs, args.out, suite, sorted({r['seed'] for r in runs}), args.dataset, pairs))


if __name__ == '__main__':
    main()
