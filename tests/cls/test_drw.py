"""DRW / class weights through one hook: the weights switch at the configured epoch index in a real Runner (mmpretrain's
CrossEntropyLoss), the outermost weighted loss is the target, and a short LDAM-DRW training through tools/train.py."""
from __future__ import annotations

import glob
import json
import os.path as osp
import re

import numpy as np
import pytest
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

import ltplug  # noqa: F401
from ltplug.core.counts import dataset_class_counts
from ltplug.engine.hooks import ClassWeightHook, DeferredReweightingHook
from ltplug.engine.hooks.class_weight import find_weighted_losses

DIGITS_COUNTS = [120, 86, 61, 44, 31, 22, 16, 11, 8, 6]  # the default DigitsLT train split (imb_factor 20)
LDAM_DRW = osp.join(REPO, 'configs/ldam_drw/ldam-drw_cifar-resnet20_digits-lt.py')


def _official_drw_weights(counts, beta=0.9999):
    """kaidic/LDAM-DRW cifar_train.py, train_rule 'DRW', written out."""
    eff = 1.0 - np.power(beta, counts)
    w = (1.0 - beta) / np.array(eff)
    return w / np.sum(w) * len(counts)


class WeightRecorder(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.seen = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        loss = runner.model.head.loss_module
        self.seen.setdefault(runner.epoch, None if loss.class_weight is None else list(loss.class_weight))


def _short_cfg(path: str, work_dir: str, epochs: int = 2):
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(dict(
        train_cfg=dict(max_epochs=epochs, val_interval=epochs), param_scheduler=[dict(type='OffsetCosineAnnealingLR',
                                                                                      T_max=epochs)],
        default_hooks=dict(checkpoint=dict(interval=100, save_best=None)), work_dir=work_dir, log_level='WARNING'))
    cfg.train_dataloader.dataset.n_max = 40  # a few iterations per epoch are enough to see the switch
    return cfg


def test_weights_switch_at_the_epoch_in_a_real_run(tmp_path):
    cfg = _short_cfg(osp.join(REPO, 'configs/ldam_drw/ce-drw_cifar-resnet20_digits-lt.py'), str(tmp_path))
    cfg.custom_hooks[1]['start_epoch'] = 1
    runner = Runner.from_cfg(cfg)
    recorder = WeightRecorder()
    runner.register_hook(recorder)
    runner.train()
    drw = next(h for h in runner.hooks if isinstance(h, DeferredReweightingHook))
    counts = dataset_class_counts(runner.train_dataloader.dataset)
    assert counts.tolist() == [40, 28, 20, 14, 10, 7, 5, 3, 2, 2]  # n_max 40, imbalance 20
    assert recorder.seen[0] is None  # epoch index 0: mmpretrain CE's configured class_weight (None)
    np.testing.assert_allclose(recorder.seen[1], _official_drw_weights(counts), rtol=1e-12)
    np.testing.assert_allclose(drw.weights, _official_drw_weights(counts), rtol=1e-12)


def test_resumed_run_gets_the_weights_of_its_epoch(tmp_path):
    path = osp.join(REPO, 'configs/ldam_drw/ce-drw_cifar-resnet20_digits-lt.py')
    first = _short_cfg(path, str(tmp_path / 'a'), epochs=2)
    first.custom_hooks[1]['start_epoch'] = 1
    first.train_cfg.max_epochs = 1  # stop after epoch index 0, before the switch
    first.default_hooks.checkpoint.interval = 1
    Runner.from_cfg(first).train()
    second = _short_cfg(path, str(tmp_path / 'b'), epochs=2)
    second.custom_hooks[1]['start_epoch'] = 1
    second.resume = True
    second.load_from = str(tmp_path / 'a' / 'epoch_1.pth')
    runner = Runner.from_cfg(second)
    recorder = WeightRecorder()
    runner.register_hook(recorder)
    runner.train()
    counts = dataset_class_counts(runner.train_dataloader.dataset)
    assert list(recorder.seen) == [1]  # only epoch index 1 ran, with the re-weighting on
    np.testing.assert_allclose(recorder.seen[1], _official_drw_weights(counts), rtol=1e-12)


def test_targets_are_the_outermost_weighted_losses():
    model = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=8),
                              neck=dict(type='GlobalAveragePooling'),
                              head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
                                        loss=dict(type='ClassBalancedLoss', beta=0.0,
                                                  loss=dict(type='CrossEntropyLoss')))))
    assert [n for n, _ in find_weighted_losses(model)] == ['head.loss_module']  # not head.loss_module.loss
    assert type(find_weighted_losses(model)[0][1]).__name__ == 'ClassBalancedLoss'


def test_hook_arguments_are_checked():
    with pytest.raises(ValueError, match='start_epoch'):
        DeferredReweightingHook(start_epoch=-1)
    with pytest.raises(ValueError, match='beta'):
        DeferredReweightingHook(start_epoch=1, beta=1.0)
    with pytest.raises(ValueError, match='weighting'):
        ClassWeightHook(weighting='median')


def test_ldam_drw_trains_through_tools_train(tmp_path):
    work = str(tmp_path / 'work')
    proc = run_tool(osp.join(REPO, 'tools/train.py'), LDAM_DRW, '--work-dir', work, '--cfg-options',
                    'train_cfg.max_epochs=2', 'train_cfg.val_interval=2', 'custom_hooks.1.start_epoch=1',
                    'param_scheduler.0.T_max=2', 'param_scheduler.0.end=2', 'default_hooks.checkpoint.interval=2')
    log = proc.stdout + proc.stderr
    assert 'DeferredReweightingHook: from epoch index 0 on, head.loss_module train with their configured' in log
    assert 'DeferredReweightingHook: from epoch index 1 on, head.loss_module train with effective_number' in log
    assert re.search(r'accuracy/top1: [\d.]+', log) and re.search(r'accuracy/ece: [\d.]+', log)
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    jsons = glob.glob(osp.join(work, '*', 'per_class_acc', 'val_epoch_2.json'))
    data = json.loads(open(jsons[0]).read())
    assert [r['train_count'] for r in data['per_class']] == DIGITS_COUNTS
    assert 0.0 <= data['summary']['ece'] <= 100.0
