"""CAMCalibratedClsHead: shapes, GAP equivalence, prototype updates (training only), a learning step, the configs."""
from __future__ import annotations

import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import ltplug  # noqa: F401

init_default_scope('mmpretrain')


def build_head(**kw):
    cfg = dict(type='CAMCalibratedClsHead', num_classes=5, in_channels=8, scale=16.0)
    cfg.update(kw)
    return MODELS.build(cfg)


def samples(labels):
    return [DataSample().set_gt_label(int(y)) for y in labels]


def test_shapes_and_predictions():
    head = build_head().eval()
    fmap = torch.randn(3, 8, 4, 4)
    assert head((fmap,)).shape == (3, 5)
    assert head.pre_logits((fmap,)).shape == (3, 8)
    preds = head.predict((fmap,))
    assert len(preds) == 3 and preds[0].pred_score.shape == (5,)
    torch.testing.assert_close(preds[0].pred_score.sum(), torch.tensor(1.0))
    losses = head.train().loss((fmap,), samples([0, 1, 4]))
    assert losses['loss'].ndim == 0 and torch.isfinite(losses['loss'])


def test_clear_errors():
    head = build_head()
    with pytest.raises(ValueError, match='neck=None'):
        head((torch.randn(2, 8),))
    with pytest.raises(ValueError, match='in_channels=8'):
        head((torch.randn(2, 6, 3, 3),))
    bad = torch.randn(2, 8, 3, 3)
    bad[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        head((bad,))
    with pytest.raises(ValueError, match='labels must lie'):
        head.loss((torch.randn(2, 8, 3, 3),), samples([0, 5]))
    for kw, msg in ((dict(scale=0.0), 'model.head.scale'), (dict(num_classes=0), 'model.head.num_classes'),
                    (dict(in_channels=2.5), 'model.head.in_channels')):
        with pytest.raises(ValueError, match=msg):
            build_head(**kw)


def test_uniform_map_reduces_to_gap_cosine_classifier():
    # channel 0 is constant over locations and the classifier only looks at channel 0: every map is uniform, so the
    # calibrated feature is GAP (times 2 with the residual) and the scaled cosine logits equal those of GAP
    head = build_head().eval()
    with torch.no_grad():
        head.fc.weight.zero_()
        head.fc.weight[:, 0] = torch.linspace(-1, 1, 5)
    fmap = torch.randn(4, 8, 3, 3)
    fmap[:, 0] = 1.7
    gap = fmap.mean(dim=(2, 3))
    ref = 16.0 * torch.nn.functional.normalize(gap, dim=-1) @ torch.nn.functional.normalize(head.fc.weight, dim=-1).t()
    torch.testing.assert_close(head((fmap,)), ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(head.pre_logits((fmap,)), 2 * gap, rtol=1e-6, atol=1e-6)


def test_prediction_logits_match_a_float64_reference():
    torch.manual_seed(3)
    head = build_head().eval()  # no prototype yet: the CAM alone
    fmap = torch.randn(2, 8, 2, 3)
    out = head((fmap,)).detach().double().numpy()
    w = head.fc.weight.detach().double().numpy()
    wn = w / np.linalg.norm(w, axis=1, keepdims=True)
    for i in range(2):  # naive reference: GAP top-1 class, its min-max CAM as pooling weights + GAP, scaled cosine
        feats = fmap[i].double().numpy().reshape(8, -1)
        gap = feats.mean(axis=1)
        c = int(np.argmax(wn @ (gap / np.linalg.norm(gap))))
        m = wn[c] @ feats
        a = (m - m.min()) / (m.max() - m.min())
        f = feats @ (a / a.sum()) + gap
        np.testing.assert_allclose(out[i], 16.0 * wn @ (f / np.linalg.norm(f)), rtol=1e-5, atol=1e-5)


def test_prototypes_update_only_in_training():
    head = build_head()
    fmap = torch.randn(4, 8, 3, 3)
    labels = [0, 0, 2, 2]
    head.eval()
    head.predict((fmap,))
    head.loss((fmap,), samples(labels))  # eval mode: no update
    assert head.proto_count.sum() == 0 and head.prototypes.abs().sum() == 0
    head.train()
    head.loss((fmap,), samples(labels))
    assert head.proto_count.tolist() == [2.0, 0.0, 2.0, 0.0, 0.0]
    gapn = torch.nn.functional.normalize(fmap.mean(dim=(2, 3)), dim=-1)
    torch.testing.assert_close(head.prototypes[0], gapn[:2].mean(0))
    torch.testing.assert_close(head.prototypes[2], gapn[2:].mean(0))
    before = head.prototypes.clone()
    head((fmap,))  # a plain forward (prediction path) never updates
    head.predict((fmap,))
    torch.testing.assert_close(head.prototypes, before)
    assert 'prototypes' in head.state_dict() and 'proto_count' in head.state_dict()  # saved with the checkpoint
    # a second training batch: p <- 0.9 p + 0.1 batch mean for the classes in it, the others unchanged
    fmap2 = torch.randn(2, 8, 3, 3)
    head.train()
    head.loss((fmap2,), samples([0, 1]))
    gap2 = torch.nn.functional.normalize(fmap2.mean(dim=(2, 3)), dim=-1)
    torch.testing.assert_close(head.prototypes[0], 0.9 * before[0] + 0.1 * gap2[0])
    torch.testing.assert_close(head.prototypes[1], gap2[1])  # first batch of class 1 sets it
    torch.testing.assert_close(head.prototypes[2], before[2])


def test_training_steps_lower_the_loss():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=8), neck=None,
                              head=dict(type='CAMCalibratedClsHead', num_classes=4, in_channels=64, scale=16.0)))
    model.train()
    x = torch.randn(16, 3, 16, 16)
    data = samples(torch.arange(16) % 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(15):
        loss = model(x, data, mode='loss')['loss']
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0], losses
    assert model.head.fc.weight.grad is not None and torch.isfinite(model.head.fc.weight.grad).all()
    assert model.head.proto_count.sum() == 15 * 16


@pytest.mark.parametrize('name', ['camc_cifar-resnet20_digits-lt.py', 'camc_resnext50_imagenet-lt.py'])
def test_configs_build(name):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'camc', name))
    model = MODELS.build(cfg.model)
    assert cfg.model.neck is None and type(model.head).__name__ == 'CAMCalibratedClsHead'
    if 'digits' in name:
        out = model(torch.randn(2, 3, 16, 16), mode='tensor')
        assert out.shape == (2, 10)


def test_digits_config_trains_and_evaluates(tmp_path):
    from mmengine.runner import Runner

    cfg = Config.fromfile(osp.join(REPO, 'configs', 'camc', 'camc_cifar-resnet20_digits-lt.py'))
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    cfg.param_scheduler = []
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=100)
    runner = Runner.from_cfg(cfg)
    runner.train()
    head = runner.model.head
    counts = runner.train_dataloader.dataset.get_class_counts()
    # prototypes saw every training image of the epoch (drop_last: 12 batches of 32)
    assert head.proto_count.sum() == 12 * 32 and (head.proto_count > 0).sum() == (counts > 0).sum()
    metrics = runner.val_loop.run()
    assert {'accuracy/top1', 'accuracy/many', 'accuracy/few'} <= set(metrics)
    before = head.prototypes.clone()
    runner.test()
    torch.testing.assert_close(head.prototypes, before)  # evaluation never updates them
