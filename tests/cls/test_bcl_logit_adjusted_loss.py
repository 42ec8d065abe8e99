"""LogitAdjustedLoss as an mmpretrain loss: with any ClsHead, counts from class_counts= / a file / ClassCountsHook,
persisted in checkpoints, and clear errors. Reference values in float64 numpy (tolerance 1e-5, float32 model)."""
from __future__ import annotations

import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

import ltplug  # noqa: F401
from ltplug.core.counts import ClassCountsError


def _np_la_ce(logits: np.ndarray, target: np.ndarray, counts, tau: float) -> np.ndarray:
    z = logits.astype(np.float64) + tau * np.log(np.asarray(counts, float) / np.sum(counts))
    z = z - z.max(axis=1, keepdims=True)
    return -(z[np.arange(len(target)), target] - np.log(np.exp(z).sum(axis=1)))


def test_values_weights_and_avg_factor():
    counts = [30, 12, 4, 1]
    loss = MODELS.build(dict(type='LogitAdjustedLoss', tau=1.0, class_counts=counts, loss_weight=2.0))
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4)).astype(np.float32)
    target = np.array([0, 1, 3, 3, 2])
    per = _np_la_ce(logits, target, counts, 1.0)
    out = loss(torch.from_numpy(logits), torch.from_numpy(target), avg_factor=5)
    assert out.item() == pytest.approx(2.0 * per.mean(), rel=1e-5)
    w = np.array([1.0, 0.0, 2.0, 1.0, 0.5])
    out = loss(torch.from_numpy(logits), torch.from_numpy(target), weight=torch.from_numpy(w), avg_factor=4.0)
    assert out.item() == pytest.approx(2.0 * (per * w).sum() / 4.0, rel=1e-5)
    none = loss(torch.from_numpy(logits), torch.from_numpy(target), reduction_override='none')
    np.testing.assert_allclose(none.numpy(), 2.0 * per, rtol=1e-5)


def test_tau_zero_is_mmpretrain_cross_entropy():
    ce = MODELS.build(dict(type='CrossEntropyLoss'))
    la = MODELS.build(dict(type='LogitAdjustedLoss', tau=0.0, class_counts=[5, 3, 1]))
    x, y = torch.randn(6, 3), torch.tensor([0, 1, 2, 2, 1, 0])
    torch.testing.assert_close(la(x, y, avg_factor=6), ce(x, y, avg_factor=6))


def test_counts_from_a_class_count_file(tmp_path):
    path = tmp_path / 'counts.txt'
    path.write_text('# class counts\n8\n4\n2\n')
    loss = MODELS.build(dict(type='LogitAdjustedLoss', class_counts=str(path)))
    np.testing.assert_allclose(loss.log_prior.numpy(), np.log(np.array([8, 4, 2]) / 14), rtol=1e-6)
    assert loss.num_classes == 3


def test_errors():
    loss = MODELS.build(dict(type='LogitAdjustedLoss'))
    with pytest.raises(ClassCountsError, match='ClassCountsHook'):
        loss(torch.zeros(2, 3), torch.tensor([0, 1]))
    loss.set_class_counts(np.array([4, 2, 1]))
    with pytest.raises(ClassCountsError, match='head outputs 5 classes but the class counts have 3'):
        loss(torch.zeros(2, 5), torch.tensor([0, 1]))
    with pytest.raises(ClassCountsError, match='zero training samples'):
        MODELS.build(dict(type='LogitAdjustedLoss', class_counts=[3, 0, 1]))
    with pytest.raises(ClassCountsError, match='num_classes=4'):
        MODELS.build(dict(type='LogitAdjustedLoss', num_classes=4, class_counts=[3, 2, 1]))


def test_with_linear_head_class_counts_hook_and_checkpoint(tmp_path):
    """The README usage: any ClsHead + loss=dict(type='LogitAdjustedLoss'); ClassCountsHook fills the prior from the
    train set before the run; the checkpoint alone restores it into a model built without counts."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'datasets', 'digits_lt.py'))
    cfg.merge_from_dict(Config.fromfile(osp.join(REPO, 'configs', '_base_', 'default_runtime.py')).to_dict())
    cfg.model = dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=8),
                     neck=dict(type='GlobalAveragePooling'),
                     head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
                               loss=dict(type='LogitAdjustedLoss', tau=1.0)))
    cfg.work_dir = str(tmp_path)
    cfg.optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, save_best=None)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    counts = runner.train_dataloader.dataset.get_class_counts()
    loss = runner.model.head.loss_module
    np.testing.assert_allclose(loss.log_prior.numpy(), np.log(counts / counts.sum()), rtol=1e-6)

    state = torch.load(osp.join(str(tmp_path), 'epoch_1.pth'), map_location='cpu', weights_only=False)['state_dict']
    assert 'head.loss_module.log_prior' in state
    fresh = MODELS.build(cfg.model)
    assert not fresh.head.loss_module.has_class_counts
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.head.loss_module.log_prior, loss.log_prior)
    assert fresh.head.loss_module.num_classes == 10
