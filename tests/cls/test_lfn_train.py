"""Category extrapolation end to end: the digits config through mmengine's Runner, the hooks, and the proposal tool."""
from __future__ import annotations

import copy
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import DATASETS

import ltplug  # noqa: F401
from ltplug.cls.datasets.extrapolation import load_neighbour_map

init_default_scope('mmpretrain')
CFG = osp.join(REPO, 'configs', 'lfn', 'lfn_cifar-resnet20_digits-lt.py')


class Recorder(Hook):
    """Test helper: what the run looked like at each epoch end."""

    priority = 'LOWEST'

    def __init__(self):
        self.epochs, self.backbone, self.head = [], [], []
        self.initial = None

    def before_train(self, runner):
        self.initial = runner.model.backbone.conv1.weight.detach().clone()

    def after_train_epoch(self, runner):
        ds = runner.train_dataloader.dataset
        self.epochs.append((runner.epoch, ds.epoch, ds._local.copy()))
        self.backbone.append(runner.model.backbone.conv1.weight.detach().clone())
        self.head.append(runner.model.head.fc.weight.detach().clone())


def small_cfg(work_dir: str, **overrides) -> Config:
    cfg = Config.fromfile(CFG)
    cfg.work_dir = work_dir
    cfg.train_cfg.max_epochs = 2
    cfg.train_cfg.val_interval = 2
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=100)
    cfg.merge_from_dict(overrides)
    return cfg


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('lfn'))
    cfg = small_cfg(work)
    cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='FreezeModulesHook', epochs=1)]
    # the official Mixup / CutMix: soft K-way scores in training (and one-hot K-way scores in evaluation)
    cfg.data_preprocessor.batch_augments = dict(augments=[dict(type='Mixup', alpha=0.8),
                                                          dict(type='CutMix', alpha=1.0)])
    runner = Runner.from_cfg(cfg)
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.train()
    return dict(runner=runner, recorder=recorder, work=work)


def test_run_resamples_hands_counts_and_warms_up(trained):
    runner, rec = trained['runner'], trained['recorder']
    ds = runner.train_dataloader.dataset
    assert [(e, d) for e, d, _ in rec.epochs] == [(0, 0), (1, 1)]  # set_epoch before every epoch
    assert not np.array_equal(rec.epochs[0][2], rec.epochs[1][2])  # a new auxiliary subset
    loss = runner.model.head.loss_module
    np.testing.assert_array_equal(loss.class_counts.numpy(), ds.get_class_counts())
    assert ds.num_classes == 40 and (~loss.keep_mask).sum() == 2 * 30  # each of the 30 pairs in both directions
    metric = runner.val_evaluator.metrics[0]
    np.testing.assert_array_equal(metric.class_counts, [120, 86, 61, 44, 31, 22, 16, 11, 8, 6])  # targets only
    # FreezeModulesHook(epochs=1): the backbone did not move in epoch 0, then it did; the head moved throughout
    assert torch.equal(rec.initial, rec.backbone[0])
    assert not torch.equal(rec.backbone[0], rec.backbone[1])
    assert not torch.equal(rec.head[0], rec.head[1])
    assert all(p.requires_grad for p in runner.model.parameters())


def test_evaluation_covers_targets_only(trained):
    runner = trained['runner']
    metrics = runner.test()
    assert 0 <= metrics['accuracy/top1'] <= 100
    model = runner.model.eval()
    batch = next(iter(runner.test_dataloader))
    with torch.no_grad():
        preds = model.test_step(batch)
    assert all(p.pred_score.shape == (10,) and int(p.pred_label) < 10 for p in preds)


def test_persistent_workers_are_refused(tmp_path):
    cfg = small_cfg(str(tmp_path), **{'train_dataloader.num_workers': 1, 'train_dataloader.persistent_workers': True})
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='persistent_workers'):
        runner.train()


def test_wrong_head_size_is_reported(tmp_path):
    cfg = small_cfg(str(tmp_path), **{'model.head.num_classes': 35, 'data_preprocessor.num_classes': 35})
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='set model.head.num_classes=40 and num_target_classes=10'):
        runner.train()


def load_tool():
    spec = importlib.util.spec_from_file_location('propose_neighbours',
                                                  osp.join(REPO, 'tools', 'lfn', 'propose_neighbours.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_propose_neighbours_tool(trained, tmp_path, capsys):
    ckpt = osp.join(trained['work'], 'epoch_2.pth')
    out = tmp_path / 'proposed.json'
    load_tool().main([CFG, ckpt, '--pool-config', CFG, '--out', str(out), '--band', '-1', '1'])  # in-process
    assert 'target classes got neighbours' in capsys.readouterr().out
    written = json.loads(out.read_text())
    # band (-1, 1) accepts every candidate, so each target gets exactly its split's number (the config's
    # val_evaluator thresholds: many > 50, few < 20): counts 120 86 61 | 44 31 22 | 16 11 8 6
    assert [len(written['neighbours'][str(t)]) for t in range(10)] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3]
    sims = [s for v in written['similarity'].values() for s in v]
    assert all(-1 < s < 1 for s in sims)
    for sim in written['similarity'].values():
        assert sim == sorted(sim, reverse=True)  # most similar first
    pool = DATASETS.build(copy.deepcopy(Config.fromfile(CFG).neighbour_pool))
    nmap = load_neighbour_map(str(out), 10, 60, None, pool.metainfo['classes'])
    assert sum(len(v) for v in nmap.values()) == 21
    # the written map trains as is (ids in the pool's label space, 'listed' auxiliary classes)
    ds = DATASETS.build(dict(type='CategoryExtrapolationDataset', target=dict(type='DigitsLT', split='train'),
                             auxiliary=Config.fromfile(CFG).neighbour_pool, neighbour_map=str(out)))
    assert ds.num_target_classes == 10 and ds.num_aux_classes == len({a for v in nmap.values() for a in v})
    again = run_tool('tools/lfn/propose_neighbours.py', CFG, ckpt, '--pool-config', CFG, '--out', str(out),
                     check=False)
    assert again.returncode != 0 and 'exists' in again.stderr


def test_imagenet_lt_config_builds():
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.registry import MODELS

    cfg = Config.fromfile(osp.join(REPO, 'configs', 'lfn', 'lfn_vit-base-p14-dinov2_imagenet-lt.py'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None  # the DINOv2 weights are a local file the user provides
    model_cfg.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(model_cfg)
    head = model.head
    assert head.num_classes == cfg.num_classes and head.num_target_classes == 1000
    assert isinstance(head.pre_norm, torch.nn.BatchNorm1d) and not head.pre_norm.affine
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 224, 224), mode='tensor').shape == (1, cfg.num_classes)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lrs = {g['lr'] for g in wrapper.optimizer.param_groups}
    assert len(lrs) > 10 and max(lrs) == pytest.approx(1.75e-5)  # layer-wise decay below the head's 1.75e-5
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert hooks == ['CategoryExtrapolationHook', 'FreezeModulesHook'] and not cfg.train_dataloader.persistent_workers
