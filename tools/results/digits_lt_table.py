"""Reproduce the README's results table on the bundled long-tailed digits (real sklearn images) over several seeds.

Every method runs through the same tools a user runs (tools/train.py, tools/test.py, the decoupling and vMF tools), from
its digits config, with one common backbone depth, and is evaluated on the balanced test split by ``LongTailAccuracy``
(many / medium / few as mean per-class accuracy; thresholds from the digits base config). The script writes
``table.md`` / ``results.json`` (mean and standard deviation over seeds) and a per-class accuracy vs training-frequency
plot into ``--out``.

Usage (inside the environment):
    python tools/results/digits_lt_table.py --out work_dirs/results [--seeds 0 1 2] [--depth 20] [--only vmf bcl ...]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PY = sys.executable
COLS = ('many', 'medium', 'few', 'top1')

# name -> (digits config, how to run it). 'train': train + test; the others derive from the joint IB checkpoint.
JOINT = 'configs/decoupling/joint_cifar-resnet20_digits-lt.py'
METHODS: dict[str, dict] = {
    'joint (IB)': dict(kind='train', config=JOINT),
    'joint (CB)': dict(kind='train', config=JOINT, options=['train_dataloader.sampler.type=ClassBalancedSampler']),
    'joint (SR)': dict(kind='train', config=JOINT, options=['train_dataloader.sampler.type=SquareRootSampler']),
    'joint (PB)': dict(kind='train', config=JOINT,
                       options=['train_dataloader.sampler.type=ProgressivelyBalancedSampler']),
    'cRT': dict(kind='stage2', config='configs/decoupling/crt_cifar-resnet20_digits-lt.py'),
    'LWS': dict(kind='stage2', config='configs/decoupling/lws_cifar-resnet20_digits-lt.py'),
    'tau-norm': dict(kind='taunorm'),
    'NCM': dict(kind='ncm'),
    'vMF': dict(kind='vmf', config='configs/vmf/vmf_cifar-resnet20_digits-lt.py'),
    'vMF + ICD': dict(kind='vmf', config='configs/vmf/vmf-icd_cifar-resnet20_digits-lt.py'),
    'BCL': dict(kind='train', config='configs/bcl/bcl_cifar-resnet20_digits-lt.py'),
    'CAM calibration': dict(kind='train', config='configs/camc/camc_cifar-resnet20_digits-lt.py'),
    'neighbour silencing': dict(kind='train', config='configs/lfn/lfn_cifar-resnet20_digits-lt.py'),
}
KEYS = {'joint': ['joint (IB)', 'joint (CB)', 'joint (SR)', 'joint (PB)'],
        'decoupling': ['cRT', 'LWS', 'tau-norm', 'NCM'],
        'vmf': ['vMF', 'vMF + ICD'], 'bcl': ['BCL'], 'camc': ['CAM calibration'], 'lfn': ['neighbour silencing']}


def run(cmd: list[str], log: str) -> None:
    """Run a tool, appending its output to ``log``; stop with the log's tail on failure."""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    with open(log, 'a') as f:
        f.write('\n$ ' + ' '.join(cmd) + '\n')
        f.flush()
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = open(log).read()[-3000:]
        raise RuntimeError(f'command failed ({proc.returncode}): {" ".join(cmd)}\n{tail}')


def test_summary(config: str, ckpt: str, work: str, log: str, options: list[str]) -> dict:
    """tools/test.py on the test split; returns LongTailAccuracy's summary and per-class accuracies."""
    run([PY, 'tools/test.py', config, ckpt, '--work-dir', work, *(['--cfg-options', *options] if options else [])], log)
    files = sorted(glob.glob(osp.join(work, '*', 'per_class_acc', 'test.json')))
    if not files:
        raise RuntimeError(f'no LongTailAccuracy output under {work}')
    return json.load(open(files[-1]))


def last_ckpt(work: str) -> str:
    with open(osp.join(work, 'last_checkpoint')) as f:
        return f.read().strip()


def train(config: str, work: str, log: str, options: list[str]) -> str:
    run([PY, 'tools/train.py', config, '--work-dir', work, '--cfg-options', *options], log)
    return last_ckpt(work)


def run_seed(seed: int, names: list[str], out: str, depth: int) -> dict[str, dict]:
    """All requested methods for one seed; returns name -> LongTailAccuracy json."""
    base = [f'randomness.seed={seed}', f'model.backbone.depth={depth}']
    sdir = osp.join(out, f'seed{seed}')
    os.makedirs(sdir, exist_ok=True)
    log = osp.join(sdir, 'log.txt')
    results: dict[str, dict] = {}
    joint_ckpt = None

    def joint() -> str:
        nonlocal joint_ckpt
        if joint_ckpt is None:
            joint_ckpt = train(JOINT, osp.join(sdir, 'joint_ib'), log, base)
        return joint_ckpt

    for name in names:
        try:
            run_method(name, seed, sdir, log, base, results, joint)
        except RuntimeError as e:  # keep going: the table shows what ran, the log says what failed
            print(f'  seed {seed} {name}: FAILED ({str(e).splitlines()[0]}); see {log}', flush=True)
    return results


def run_method(name: str, seed: int, sdir: str, log: str, base: list[str], results: dict, joint) -> None:
    """One method for one seed: train / derive, then evaluate on the test split into ``results``."""
    spec = METHODS[name]
    tag = name.replace(' ', '_').replace('(', '').replace(')', '').replace('+', 'plus').lower()
    work = osp.join(sdir, tag)
    t0 = time.time()
    if name == 'joint (IB)':
        results[name] = test_summary(JOINT, joint(), osp.join(work, 'test'), log, base)
    elif spec['kind'] == 'train':
        ckpt = train(spec['config'], work, log, base + spec.get('options', []))
        results[name] = test_summary(spec['config'], ckpt, osp.join(work, 'test'), log, base)
    elif spec['kind'] == 'stage2':
        ckpt = train(spec['config'], work, log, base + [f'load_from={joint()}'])
        results[name] = test_summary(spec['config'], ckpt, osp.join(work, 'test'), log, base)
    elif spec['kind'] in ('taunorm', 'ncm'):  # derived from the joint model's features (extracted once a seed)
        os.makedirs(work, exist_ok=True)
        feats = osp.join(sdir, 'joint_ib_feats.npz')
        if not osp.exists(feats):
            run([PY, 'tools/decoupling/extract_features.py', JOINT, joint(), '--out', feats,
                 '--cfg-options', *base], log)
        kind = spec['kind']
        cfg, ckpt = osp.join(work, f'{kind}.py'), osp.join(work, f'{kind}.pth')
        if kind == 'taunorm':
            run([PY, 'tools/decoupling/tau_sweep.py', feats, '--config', JOINT, '--checkpoint', joint(),
                 '--out-config', cfg, '--out-checkpoint', ckpt], log)
        else:
            run([PY, 'tools/decoupling/fit_ncm.py', JOINT, joint(), '--features', feats, '--out-config', cfg,
                 '--out-checkpoint', ckpt], log)
        results[name] = test_summary(cfg, ckpt, osp.join(work, 'test'), log, base)
    elif spec['kind'] == 'vmf':
        ckpt = train(spec['config'], work, log, base)
        results[name] = test_summary(spec['config'], ckpt, osp.join(work, 'test'), log, base)
        calib = osp.join(work, 'calibrated.pth')
        sweep = osp.join(work, 'sweep.json')
        run([PY, 'tools/vmf/calibrate.py', spec['config'], ckpt, '--split', 'val', '--out', calib,
             '--json', sweep], log)
        alpha = json.load(open(sweep))['alpha']
        cal = test_summary(spec['config'], calib, osp.join(work, 'test_calibrated'), log, base)
        cal['alpha'] = alpha
        results[f'{name} + calibration'] = cal
    print(f'  seed {seed} {name}: {time.time() - t0:.0f}s', flush=True)


def summarise(per_seed: list[dict[str, dict]]) -> dict[str, dict]:
    names = list(dict.fromkeys(k for r in per_seed for k in r))
    table = {}
    for name in names:
        rows = [r[name] for r in per_seed if name in r]
        vals = {c: np.array([row['summary'][c] for row in rows]) for c in COLS}
        table[name] = {c: (float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0) for c, v in vals.items()}
        table[name]['seeds'] = len(rows)
        if 'alpha' in rows[0]:
            table[name]['alpha'] = [row['alpha'] for row in rows]
    return table


def write_outputs(table: dict, per_seed: list[dict], out: str, seeds: list[int], depth: int) -> str:
    lines = ['| method | many | medium | few | all |', '|---|---|---|---|---|']
    for name, row in table.items():
        cells = [f'{row[c][0]:.1f} ± {row[c][1]:.1f}' for c in COLS]
        extra = f' (α on val: {", ".join(f"{a:g}" for a in row["alpha"])})' if 'alpha' in row else ''
        lines.append(f'| {name}{extra} | ' + ' | '.join(cells) + ' |')
    md = '\n'.join(lines)
    header = (f'Digits-LT test split (400 images, 40 per class), top-1 %, mean ± std over seeds {seeds}, '
              f'CifarResNet-{depth}.\n'
              'many / medium / few: mean per-class accuracy of classes with > 50 / 20..50 / < 20 training images.\n\n')
    with open(osp.join(out, 'table.md'), 'w') as f:
        f.write(header + md + '\n')
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(dict(seeds=seeds, depth=depth, table=table, per_seed=per_seed), f, indent=1)
    plot(per_seed, out)
    return header + md


def plot(per_seed: list[dict], out: str) -> None:
    """Per-class test accuracy against training frequency, averaged over seeds, one line per method."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 5.5))
    colours = plt.get_cmap('tab20')
    for i, name in enumerate(dict.fromkeys(k for r in per_seed for k in r)):
        rows = [r[name] for r in per_seed if name in r]
        counts = np.array([c['train_count'] for c in rows[0]['per_class']])
        acc = 100 * np.mean([[np.nan if c['accuracy'] is None else c['accuracy'] for c in r['per_class']]
                             for r in rows], axis=0)
        order = np.argsort(-counts)
        ax.plot(counts[order], acc[order], marker='os^vD'[i % 5], linestyle=('-', '--')[i % 2], color=colours(i),
                label=name)
    ax.set_xscale('log')
    ax.set_xlabel('training images of the class (log)')
    ax.set_ylabel('test accuracy of the class (%)')
    ax.set_title('Digits-LT: per-class accuracy vs training frequency')
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'per_class_acc.png'), dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='work_dirs/results_digits_lt')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--depth', type=int, default=20, help='CifarResNet depth used by every method')
    parser.add_argument('--only', nargs='+', choices=sorted(KEYS), help='run only these groups')
    parser.add_argument('--force', action='store_true', help='reuse a non-empty --out directory')
    parser.add_argument('--replot', action='store_true', help='only redraw the plot of an existing --out')
    args = parser.parse_args()
    if args.replot:
        plot(json.load(open(osp.join(args.out, 'results.json')))['per_seed'], args.out)
        return
    if osp.isdir(args.out) and os.listdir(args.out) and not args.force:
        sys.exit(f'error: {args.out} is not empty; choose another --out or pass --force')
    os.makedirs(args.out, exist_ok=True)
    names = [n for g in (args.only or KEYS) for n in KEYS[g]]
    per_seed = []
    for seed in args.seeds:
        print(f'seed {seed}', flush=True)
        per_seed.append(run_seed(seed, names, args.out, args.depth))
        table = summarise(per_seed)
        text = write_outputs(table, per_seed, args.out, args.seeds[:len(per_seed)], args.depth)
    print(text)


if __name__ == '__main__':
    main()
