"""tools/results/lt_table.py end to end on the bundled digits (1 epoch, 2 seeds, 2 workers): every run through the
users' tools, paired differences to joint CE, the --pairs table, per-method logs, and a resume that redoes nothing.

References: the paired differences are recomputed here from the per-seed results the tool wrote (mean and the 95%
t-interval with scipy's t quantile), not read back from its table."""
from __future__ import annotations

import json
import math
import os.path as osp

import numpy as np
from conftest import run_tool
from scipy.stats import t

METHODS = ['tau-norm', 'NCM', 'post-hoc LA']


def test_two_workers_two_seeds_pairs_and_resume(tmp_path):
    out = str(tmp_path / 'table')
    args = ['tools/results/lt_table.py', '--dataset', 'digits-lt', '--out', out, '--seeds', '0', '1', '--jobs', '2',
            '--epochs', '1', '--methods', *METHODS, '--pairs', 'NCM=tau-norm']
    first = run_tool(*args, timeout=900)
    assert first.stdout.count('] seed ') == 8, first.stdout  # 4 methods (joint first) x 2 seeds, one line each
    with open(osp.join(out, 'results.json')) as f:
        res = json.load(f)
    runs = {(r['method'], r['seed']): r for r in res['runs']}
    assert sorted(runs) == sorted((m, s) for m in ['joint (IB)', *METHODS] for s in (0, 1))
    for s in (0, 1):  # one log per method run (the runs of a seed go side by side)
        for tag in ('joint_ib', 'taunorm', 'ncm', 'posthoc_la'):
            assert osp.isfile(osp.join(out, f'seed{s}', f'{tag}.log')), tag
    # the paired difference of NCM to joint CE and of NCM to tau-norm, from the per-seed results
    for b, cell in (('joint (IB)', res['table']['NCM']['delta_all']), ('tau-norm', res['pairs'][0]['all'])):
        d = np.array([runs[('NCM', s)]['shots']['all'] - runs[(b, s)]['shots']['all'] for s in (0, 1)])
        half = t.ppf(0.975, 1) * d.std(ddof=1) / math.sqrt(2)
        assert np.allclose(cell, [d.mean(), d.mean() - half, d.mean() + half], atol=1e-9)
    table = open(osp.join(out, 'table.md')).read()
    assert '| NCM | tau-norm | [0, 1] |' in table and table.count('\n| ') >= 6
    # the same command again: everything is read back, nothing re-runs
    again = run_tool(*args, timeout=300)
    assert 'resuming: 8 of 8 runs finished earlier' in again.stdout and '] seed ' not in again.stdout
