"""tools/decoupling: feature extraction, the tau sweep on saved features and the NCM fit, with the written configs and
checkpoints evaluated by the real mmengine Runner."""
from __future__ import annotations

import importlib.util
import json
import math
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmpretrain.registry import DATASETS, MODELS

import ltplug  # noqa: F401

JOINT = osp.join(REPO, 'configs', 'decoupling', 'joint_cifar-resnet20_digits-lt.py')


def load_tool(name: str):
    path = osp.join(REPO, 'tools', 'decoupling', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'decoupling_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def stage1(tmp_path_factory) -> str:
    """A real stage-1 checkpoint of the digits joint config (one short epoch)."""
    work = str(tmp_path_factory.mktemp('joint'))
    cfg = Config.fromfile(JOINT)
    cfg.work_dir = work
    cfg.train_dataloader.sampler.num_samples = 64
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.param_scheduler = []
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, save_best=None)
    cfg.log_level = 'WARNING'
    Runner.from_cfg(cfg).train()
    return osp.join(work, 'epoch_1.pth')


@pytest.fixture(scope='module')
def features(stage1, tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp('feats') / 'feats.npz')
    load_tool('extract_features').main([JOINT, stage1, '--out', out])
    return out


def test_extract_features_uses_test_transforms_in_order(features, stage1):
    data = np.load(features)
    meta = json.loads(str(data['meta']))
    assert meta['checkpoint'] == osp.abspath(stage1) and (meta['many_thr'], meta['few_thr']) == (50, 20)
    init_default_scope('mmpretrain')
    train = DATASETS.build(dict(type='DigitsLT', split='train', imb_factor=20))
    counts = train.get_class_counts()
    np.testing.assert_array_equal(data['class_counts'], counts)
    np.testing.assert_array_equal(data['train_labels'], train.get_gt_labels())
    assert data['train_feats'].shape == (counts.sum(), 64) and data['test_feats'].shape == (400, 64)
    # independent forward of the un-augmented training images: normalise, backbone, global average pooling
    cfg = Config.fromfile(JOINT)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, stage1, map_location='cpu')
    model.eval()
    imgs = np.stack([train.get_data_info(i)['img'] for i in range(len(train))]).astype(np.float32)
    mean = torch.tensor(cfg.data_preprocessor.mean).view(1, 3, 1, 1)
    std = torch.tensor(cfg.data_preprocessor.std).view(1, 3, 1, 1)
    x = (torch.from_numpy(imgs).permute(0, 3, 1, 2) - mean) / std
    with torch.no_grad():
        ref = model.backbone(x)[-1].mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(data['train_feats'], ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(data['fc_weight'], model.head.fc.weight.detach().numpy())
    with pytest.raises(SystemExit, match='exists; pass --force'):
        load_tool('extract_features').main([JOINT, stage1, '--out', features])


@pytest.fixture
def synthetic(tmp_path) -> dict:
    """A feature file + matching stage-1 checkpoint where tau changes the decisions (class norms 3 ... 0.5)."""
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import _common as shared
    rng = np.random.default_rng(0)
    counts = np.array([120, 85, 61, 44, 31, 22, 15, 11, 8, 6])
    directions = rng.normal(size=(10, 64))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    weight = (directions * np.linspace(3.0, 0.5, 10)[:, None]).astype(np.float32)
    val_labels = np.repeat(np.arange(10), 10)
    val_feats = (directions[val_labels] * 2.0 + rng.normal(scale=0.18, size=(100, 64))).astype(np.float32)
    test_labels = np.repeat(np.arange(10), 5)
    test_feats = (directions[test_labels] * 2.0 + rng.normal(scale=0.18, size=(50, 64))).astype(np.float32)
    cfg = Config.fromfile(JOINT)
    model = MODELS.build(cfg.model)
    state = model.state_dict()
    state['head.fc.weight'] = torch.from_numpy(weight)
    ckpt = str(tmp_path / 'stage1.pth')
    torch.save({'state_dict': state, 'meta': {}}, ckpt)
    npz = str(tmp_path / 'feats.npz')
    shared.save_features(npz, dict(val_feats=val_feats, val_labels=val_labels, test_feats=test_feats,
                                   test_labels=test_labels, class_counts=counts, fc_weight=weight),
                         dict(config=JOINT, checkpoint=ckpt, many_thr=50, few_thr=20))
    return dict(npz=npz, ckpt=ckpt, weight=weight.astype(np.float64), counts=counts, val=(val_feats, val_labels))


def _reference_rows(weight, feats, labels, counts, taus):
    """Per tau: (many, medium, few, all) in percent, with loops over classes and float64 maths."""
    rows = []
    for tau in taus:
        w = np.stack([weight[c] / math.pow(np.linalg.norm(weight[c]), tau) for c in range(weight.shape[0])])
        pred = (feats.astype(np.float64) @ w.T).argmax(1)
        per_class = [np.mean(pred[labels == c] == c) for c in range(weight.shape[0])]
        group = {'many': [a for a, n in zip(per_class, counts) if n > 50],
                 'medium': [a for a, n in zip(per_class, counts) if 20 <= n <= 50],
                 'few': [a for a, n in zip(per_class, counts) if n < 20]}
        rows.append({k: 100 * float(np.mean(v)) for k, v in group.items()} | {'all': 100 * np.mean(pred == labels)})
    return rows


def test_tau_sweep_picks_the_best_val_tau_and_writes_a_ready_config(synthetic, tmp_path, capsys):
    tool = load_tool('tau_sweep')
    out_cfg, out_ckpt = str(tmp_path / 'out' / 'taunorm.py'), str(tmp_path / 'out' / 'taunorm.pth')
    result = tool.main([synthetic['npz'], '--out-config', out_cfg, '--out-checkpoint', out_ckpt])
    taus = [round(0.1 * i, 1) for i in range(21)]
    assert result['taus'] == taus and (result['many_thr'], result['few_thr']) == (50, 20)
    ref = _reference_rows(synthetic['weight'], *synthetic['val'], synthetic['counts'], taus)
    for got, exp in zip(result['rows'], ref):
        for key in ('many', 'medium', 'few', 'all'):
            assert got[key] == pytest.approx(exp[key], abs=1e-9)
    alls = [r['all'] for r in ref]
    assert result['tau'] == taus[int(np.argmax(alls))]
    assert max(alls) > alls[0]  # tau matters on this data: the test would catch a sweep that ignores it
    printed = capsys.readouterr().out
    assert printed.count('tau=') >= 21 and f'best tau = {result["tau"]:g}' in printed
    # the written config + checkpoint: TauNormClsHead with the chosen tau, evaluated by the real model
    cfg = Config.fromfile(out_cfg)
    assert cfg.model.head.type == 'TauNormClsHead' and cfg.model.head.tau == result['tau']
    assert cfg.load_from == out_ckpt
    model = MODELS.build(cfg.model)
    load_checkpoint(model, out_ckpt, map_location='cpu', strict=True)
    feats, labels = synthetic['val']
    logits = model.head((torch.from_numpy(feats),)).detach().double().numpy()
    w = synthetic['weight'] / np.linalg.norm(synthetic['weight'], axis=1, keepdims=True) ** result['tau']
    np.testing.assert_allclose(logits, feats.astype(np.float64) @ w.T, rtol=1e-4, atol=1e-4)
    assert 100 * np.mean(logits.argmax(1) == labels) == pytest.approx(max(alls))
    meta = torch.load(out_ckpt, map_location='cpu', weights_only=True)['meta']['tau_sweep']
    assert meta['tau'] == result['tau'] and meta['select_split'] == 'val'
    # never overwrite silently; --force does
    with pytest.raises(SystemExit, match='exists; pass --force'):
        tool.main([synthetic['npz'], '--out-config', out_cfg, '--out-checkpoint', out_ckpt])
    tool.main([synthetic['npz'], '--out-config', out_cfg, '--out-checkpoint', out_ckpt, '--force'])


def test_tau_sweep_refuses_mismatched_features(synthetic, tmp_path):
    other = torch.load(synthetic['ckpt'], map_location='cpu', weights_only=True)
    other['state_dict']['head.fc.weight'] = other['state_dict']['head.fc.weight'] * 2
    bad = str(tmp_path / 'other.pth')
    torch.save(other, bad)
    with pytest.raises(SystemExit, match='was not extracted from'):
        load_tool('tau_sweep').main([synthetic['npz'], '--checkpoint', bad, '--out-config', str(tmp_path / 'x.py'),
                                     '--out-checkpoint', str(tmp_path / 'x.pth')])
    assert not osp.exists(tmp_path / 'x.py') and not osp.exists(tmp_path / 'x.pth')


def test_fit_ncm_from_saved_features_then_runner_test(features, stage1, tmp_path):
    tool = load_tool('fit_ncm')
    out_cfg, out_ckpt = str(tmp_path / 'ncm.py'), str(tmp_path / 'ncm.pth')
    result = tool.main([JOINT, stage1, '--features', features, '--out-checkpoint', out_ckpt, '--out-config', out_cfg])
    data = np.load(features)
    feats, labels = data['train_feats'].astype(np.float64), data['train_labels']
    centred = feats - feats.mean(0)
    unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    ref = np.stack([unit[labels == c].mean(0) for c in range(10)])  # cl2n means, not re-normalised
    state = torch.load(out_ckpt, map_location='cpu', weights_only=True)['state_dict']
    np.testing.assert_allclose(state['head.centroids'].numpy(), ref, rtol=1e-5, atol=1e-6)
    assert not any(k.startswith('head.fc') for k in state)
    cfg = Config.fromfile(out_cfg)
    assert cfg.model.head.type == 'NCMClsHead' and cfg.model.head.feat_type == 'cl2n'
    cfg.work_dir = str(tmp_path / 'test_run')
    cfg.log_level = 'WARNING'
    metrics = Runner.from_cfg(cfg).test()
    assert metrics['accuracy/top1'] == pytest.approx(result['test']['all'], abs=1e-6)
    assert metrics['accuracy/few'] == pytest.approx(result['test']['few'], abs=1e-6)


def test_fit_ncm_extracting_itself_equals_fitting_saved_features(features, stage1, tmp_path):
    """Without --features fit_ncm extracts train / val / test itself (the same split extraction as extract_features.py):
    the centroids and the reported test row equal those fitted from the saved feature file."""
    tool = load_tool('fit_ncm')
    saved = tool.main([JOINT, stage1, '--features', features, '--out-checkpoint', str(tmp_path / 'a.pth')])
    own = tool.main([JOINT, stage1, '--report', '--out-checkpoint', str(tmp_path / 'b.pth')])
    a = torch.load(tmp_path / 'a.pth', map_location='cpu', weights_only=True)['state_dict']
    b = torch.load(tmp_path / 'b.pth', map_location='cpu', weights_only=True)['state_dict']
    torch.testing.assert_close(b['head.centroids'], a['head.centroids'], rtol=0, atol=0)
    assert own['test'] == saved['test'] and own['num_classes'] == saved['num_classes'] == 10
