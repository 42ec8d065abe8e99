"""tools/vmf/calibrate.py and tools/vmf/overlap_report.py on a checkpoint trained here with tools/train.py (digits)."""
from __future__ import annotations

import csv
import glob
import hashlib
import importlib.util
import json
import os.path as osp

import pytest
import torch
from conftest import REPO, run_tool

import ltplug  # noqa: F401


def load_tool(rel: str):
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(rel))[0] + '_tool', osp.join(REPO, rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sha(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    """Two epochs of the ICD digits config (CifarResNet-8) through the real tools/train.py."""
    root = tmp_path_factory.mktemp('vmf_tools')
    cfg = root / 'vmf_tiny.py'
    base = osp.join(REPO, 'configs/vmf/vmf-icd_cifar-resnet20_digits-lt.py')
    cfg.write_text(f"_base_ = [{base!r}]\nmodel = dict(backbone=dict(depth=8))\n"
                   "param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=2, eta_min=0.0, by_epoch=True, "
                   "begin=0, end=2)]\ntrain_cfg = dict(max_epochs=2, val_interval=1)\n"
                   "default_hooks = dict(logger=dict(interval=5))\n")
    work = root / 'work'
    run_tool('tools/train.py', str(cfg), '--work-dir', str(work))
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models in-process below
    yield dict(cfg=str(cfg), work=str(work), ckpt=str(work / 'epoch_2.pth'), root=root)
    torch.set_num_threads(old)


def test_calibrate_sweep_matches_test_tool_and_never_overwrites(run):
    calibrate = load_tool('tools/vmf/calibrate.py')
    ckpt, out = run['ckpt'], str(run['root'] / 'calibrated.pth')
    digest = sha(ckpt)
    res = calibrate.main([run['cfg'], ckpt, '--split', 'test', '--alphas', '1.0', '0.5', '0.2', '--out', out,
                          '--json', str(run['root'] / 'sweep.json')])
    assert sha(ckpt) == digest and osp.isfile(out)
    assert [r['alpha'] for r in res['rows']] == [1.0, 0.5, 0.2]
    chosen = res['alpha']
    row = next(r for r in res['rows'] if r['alpha'] == chosen)
    assert row['all'] == max(r['all'] for r in res['rows'])
    saved = torch.load(out, map_location='cpu')
    assert float(saved['state_dict']['head.vmf.calib_alpha']) == chosen
    assert saved['meta']['vmf_calibration']['alpha'] == chosen
    assert json.load(open(run['root'] / 'sweep.json'))['rows'] == res['rows']

    # tools/test.py on the calibrated checkpoint reports exactly the sweep's numbers (same logits)
    test_tool = load_tool('tools/test.py')
    metrics = test_tool.main([run['cfg'], out, '--work-dir', str(run['root'] / 'test_cal')])
    assert metrics['accuracy/top1'] == pytest.approx(row['all'], abs=1e-9)
    for split in ('many', 'medium', 'few'):
        assert metrics[f'accuracy/{split}'] == pytest.approx(row[split], abs=1e-9)
    summary = glob.glob(str(run['root'] / 'test_cal' / '*' / 'per_class_acc' / 'test.json'))
    assert summary

    # never overwrite: an existing --out needs --force; the input checkpoint is refused even with --force
    with pytest.raises(SystemExit, match='exists'):
        calibrate.main([run['cfg'], ckpt, '--out', out])
    with pytest.raises(SystemExit, match='input checkpoint'):
        calibrate.main([run['cfg'], ckpt, '--out', ckpt, '--force'])
    assert sha(ckpt) == digest


def test_calibrate_alpha_one_is_identity(run):
    """alpha = 1 reproduces the trained checkpoint's own predictions (calibration off)."""
    calibrate = load_tool('tools/vmf/calibrate.py')
    res = calibrate.main([run['cfg'], run['ckpt'], '--alphas', '1.0', '--no-save'])
    test_tool = load_tool('tools/test.py')
    metrics = test_tool.main([run['cfg'], run['ckpt'], '--work-dir', str(run['root'] / 'test_raw'),
                              '--cfg-options', 'test_dataloader.dataset.split=val'])
    assert metrics['accuracy/top1'] == pytest.approx(res['rows'][0]['all'], abs=1e-9)
    with pytest.raises(SystemExit):
        calibrate.main([run['cfg'], run['ckpt'], '--alphas', '1.5', '--no-save'])


def test_overlap_report(run):
    report = load_tool('tools/vmf/overlap_report.py')
    out_dir = str(run['root'] / 'report')
    res = report.main([run['ckpt'], '--top', '5', '--out-dir', out_dir])
    for name in ('top_pairs.csv', 'per_class.csv', 'overlap_vs_frequency.png', 'heatmap.png'):
        assert osp.getsize(osp.join(out_dir, name)) > 0, name
    rows = list(csv.DictReader(open(osp.join(out_dir, 'per_class.csv'))))
    assert len(rows) == 10 and sum(int(r['train_count']) for r in rows) > 0
    pairs = list(csv.DictReader(open(osp.join(out_dir, 'top_pairs.csv'))))
    values = [float(p['overlap_sym']) for p in pairs]
    assert len(pairs) == 5 and values == sorted(values, reverse=True)
    # the reported per-class mean overlap is the off-diagonal row mean of the core overlap matrix
    from ltplug.core.vmf import overlap_matrix
    state = torch.load(run['ckpt'], map_location='cpu')['state_dict']
    o = overlap_matrix(state['head.vmf.weight'].double(), state['head.vmf.kappa'].double())
    expected = (o.sum(1) - 1) / 9
    assert torch.allclose(torch.tensor(res['mean_overlap']), expected, atol=1e-12)
    with pytest.raises(SystemExit, match='not empty'):
        report.main([run['ckpt'], '--out-dir', out_dir])
