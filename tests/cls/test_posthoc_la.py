"""Post-hoc logit adjustment: the tau sweep of tools/logit_adjust/posthoc_la.py against a per-sample loop over logits
computed here, the baked checkpoint evaluated by tools/test.py equals both the chosen sweep row and
PosthocLogitAdjustHook on the original checkpoint, the input checkpoint is untouched; the generic sweep helpers."""
from __future__ import annotations

import hashlib
import importlib.util
import math
import os.path as osp
import re
import sys

import numpy as np
import pytest
import torch
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner, load_checkpoint

import ltplug  # noqa: F401
from ltplug.core.counts import dataset_class_counts

JOINT = osp.join(REPO, 'configs/decoupling/joint_cifar-resnet20_digits-lt.py')
LA_CFG = osp.join(REPO, 'configs/logit_adjust/posthoc-la_cifar-resnet20_digits-lt.py')
TAUS = ['0', '0.5', '1', '1.5']


def _load_tool():
    spec = importlib.util.spec_from_file_location('posthoc_la', osp.join(REPO, 'tools/logit_adjust/posthoc_la.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def joint(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('la') / 'work')
    run_tool(osp.join(REPO, 'tools/train.py'), JOINT, '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=2',
             'train_cfg.val_interval=2', 'param_scheduler.0.T_max=2', 'param_scheduler.0.end=2',
             'default_hooks.checkpoint.interval=2')
    return dict(work=work, ckpt=osp.join(work, 'epoch_2.pth'))


def _sha(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _reference_rows(ckpt: str):
    """Logits of the test split computed here, then argmax(z - tau log pi) sample by sample."""
    cfg = Config.fromfile(JOINT)
    init_default_scope('mmpretrain')
    model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor))  # as the Runner builds it
    load_checkpoint(model, ckpt, map_location='cpu', strict=True, logger='silent')
    model.eval()
    loader = Runner.build_dataloader(cfg.test_dataloader, seed=0)
    logits, labels = [], []
    with torch.no_grad():
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            logits.append(model(data['inputs'], mode='tensor').double())
            labels += [int(s.gt_label) for s in data['data_samples']]
    z = torch.cat(logits).numpy()
    from mmengine.registry import DATASETS
    counts = dataset_class_counts(DATASETS.build(cfg.train_dataloader.dataset))
    log_prior = np.log(counts / counts.sum())
    rows = {}
    for tau in map(float, TAUS):
        hits = sum(int(np.argmax(z[i] - tau * log_prior) == labels[i]) for i in range(len(labels)))
        rows[tau] = 100.0 * hits / len(labels)
    return rows


def _top1(log: str) -> float:
    return float(re.findall(r'accuracy/top1: ([\d.]+)', log)[-1])


def test_sweep_bake_and_hook_agree(joint, tmp_path):
    tool = _load_tool()
    before = _sha(joint['ckpt'])
    out = str(tmp_path / 'la.pth')
    result = tool.main([JOINT, joint['ckpt'], '--taus', *TAUS, '--split', 'test', '--out', out,
                        '--json', str(tmp_path / 'sweep.json')])
    assert _sha(joint['ckpt']) == before  # the input checkpoint is never modified
    reference = _reference_rows(joint['ckpt'])
    for row in result['rows']:
        assert row['all'] == pytest.approx(reference[row['tau']], abs=1e-9)
        assert 0.0 <= row['ece'] <= 100.0
    chosen = result['tau']
    best = max(reference.values())
    assert reference[chosen] == best and chosen == min(t for t, v in reference.items() if v == best)
    # the baked checkpoint with the plain config, and the hook on the original checkpoint, give the chosen row
    baked = run_tool(osp.join(REPO, 'tools/test.py'), JOINT, out, '--work-dir', str(tmp_path / 't1'))
    assert _top1(baked.stdout + baked.stderr) == pytest.approx(reference[chosen], abs=1e-4)
    hooked = run_tool(osp.join(REPO, 'tools/test.py'), LA_CFG, joint['ckpt'], '--work-dir', str(tmp_path / 't2'),
                      '--cfg-options', f'custom_hooks.1.tau={chosen}')
    log = hooked.stdout + hooked.stderr
    assert _top1(log) == pytest.approx(reference[chosen], abs=1e-4)
    assert 'PosthocLogitAdjustHook: test with logits' in log or chosen == 0.0
    meta = torch.load(out, map_location='cpu', weights_only=False)['meta']['posthoc_logit_adjustment']
    assert meta['tau'] == chosen and meta['layer'] == 'head.fc.bias'


def test_refuses_to_overwrite(joint, tmp_path):
    tool = _load_tool()
    with pytest.raises(SystemExit, match='input checkpoint'):
        tool.main([JOINT, joint['ckpt'], '--out', joint['ckpt']])
    existing = tmp_path / 'exists.pth'
    existing.write_bytes(b'x')
    with pytest.raises(SystemExit, match='--force'):
        tool.main([JOINT, joint['ckpt'], '--out', str(existing)])


def test_generic_sweep_helpers():
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import _common as ps

    rows = [dict(tau=0.0, many=50.0, medium=40.0, few=math.nan, all=45.0, ece=9.0),
            dict(tau=-0.5, many=60.0, medium=30.0, few=math.nan, all=47.0, ece=5.0),
            dict(tau=0.5, many=60.0, medium=30.0, few=math.nan, all=47.0, ece=5.0)]
    assert ps.choose(rows, 'tau', 'all', neutral=0.0) == -0.5  # tie: closest to neutral (first of equals)
    assert ps.choose(rows, 'tau', 'ece', neutral=1.0) == 0.5  # lowest ECE; tie goes to the value nearest 1
    with pytest.raises(ValueError, match='empty'):
        ps.choose(rows, 'tau', 'few', neutral=0.0)
    assert 'n/a' in ps.format_sweep(rows, 'tau', 0.5) and '<- chosen' in ps.format_sweep(rows, 'tau', 0.5)
    # an empty split is NaN in a row, never 0
    z = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    row = ps.evaluate_logits(z, np.array([0, 1]), np.array([500, 400]), many_thr=100, few_thr=20)
    assert row['many'] == 100.0 and math.isnan(row['medium']) and math.isnan(row['few'])
