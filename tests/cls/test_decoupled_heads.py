"""TauNormClsHead, LWSClsHead, NCMClsHead: logits against hand / float64 references, checkpoint compatibility."""
from __future__ import annotations

import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import ltplug  # noqa: F401
from ltplug.utils import CheckpointShapeError

init_default_scope('mmpretrain')


def classifier_cfg(head: dict) -> dict:
    return dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=8),
                neck=dict(type='GlobalAveragePooling'), head=head)


def linear_head(num_classes=4, in_channels=3):
    return MODELS.build(dict(type='LinearClsHead', num_classes=num_classes, in_channels=in_channels))


def test_taunorm_head_loads_linear_head_and_matches_formula():
    torch.manual_seed(0)
    joint = linear_head()
    head = MODELS.build(dict(type='TauNormClsHead', num_classes=4, in_channels=3, tau=0.7))
    head.load_state_dict(joint.state_dict())  # same keys: fc.weight, fc.bias (strict)
    x = torch.randn(5, 3)
    out = head((x,)).detach().numpy().astype(np.float64)
    w = joint.fc.weight.detach().numpy().astype(np.float64)
    ref = x.numpy().astype(np.float64) @ (w / np.linalg.norm(w, axis=1, keepdims=True) ** 0.7).T  # no bias
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)  # float32 head vs float64 reference
    # tau = 0: the joint classifier without its bias
    head.tau = 0.0
    torch.testing.assert_close(head((x,)), joint((x,)) - joint.fc.bias)
    with pytest.raises(ValueError, match='tau must be >= 0'):
        MODELS.build(dict(type='TauNormClsHead', num_classes=4, in_channels=3, tau=-0.1))


def _stage1_checkpoint(path: str, num_classes: int = 5) -> dict:
    torch.manual_seed(1)
    model = MODELS.build(classifier_cfg(dict(type='LinearClsHead', num_classes=num_classes, in_channels=64)))
    state = model.state_dict()
    torch.save({'state_dict': state, 'meta': {}}, path)
    return state


@pytest.mark.parametrize('head_type', ['TauNormClsHead', 'LWSClsHead'])
def test_stage1_checkpoint_loads_and_shape_mismatch_is_clear(tmp_path, head_type):
    ckpt = str(tmp_path / 'stage1.pth')
    state = _stage1_checkpoint(ckpt)
    model = MODELS.build(classifier_cfg(dict(type=head_type, num_classes=5, in_channels=64)))
    load_checkpoint(model, ckpt, map_location='cpu', strict=True)  # strict: no missing key (LWS scales) either
    assert torch.equal(model.head.fc.weight, state['head.fc.weight'])
    assert torch.equal(model.head.fc.bias, state['head.fc.bias'])
    if head_type == 'LWSClsHead':
        assert torch.equal(model.head.scales, torch.ones(5))
    wrong_classes = MODELS.build(classifier_cfg(dict(type=head_type, num_classes=7, in_channels=64)))
    with pytest.raises(CheckpointShapeError, match=r'head\.fc\.weight of shape \(5, 64\).*num_classes=7'):
        load_checkpoint(wrong_classes, ckpt, map_location='cpu')
    wrong_channels = MODELS.build(
        dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=8, base_channels=8),
             neck=dict(type='GlobalAveragePooling'), head=dict(type=head_type, num_classes=5, in_channels=32)))
    with pytest.raises(CheckpointShapeError, match='in_channels=32'):
        load_checkpoint(wrong_channels, ckpt, map_location='cpu')


def test_lws_head_logits_grads_and_frozen_classifier():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='LWSClsHead', num_classes=4, in_channels=3))
    with torch.no_grad():
        head.scales.copy_(torch.tensor([2.0, 0.5, 1.0, -1.0]))
    assert not head.fc.weight.requires_grad and not head.fc.bias.requires_grad and head.scales.requires_grad
    x = torch.randn(6, 3)
    out = head((x,))
    w, b = head.fc.weight.detach().double().numpy(), head.fc.bias.detach().double().numpy()
    ref = (x.double().numpy() @ w.T + b) * np.array([2.0, 0.5, 1.0, -1.0])  # bias scaled too
    np.testing.assert_allclose(out.detach().double().numpy(), ref, rtol=1e-5, atol=1e-6)
    samples = [DataSample().set_gt_label(int(i)) for i in (0, 1, 2, 3, 0, 1)]
    loss = head.loss((x,), samples)['loss']
    loss.backward()
    assert head.scales.grad is not None and head.scales.grad.abs().sum() > 0
    assert head.fc.weight.grad is None and head.fc.bias.grad is None


def test_lws_config_applies_weight_decay_to_the_scales():
    cfg = Config.fromfile(osp.join(REPO, 'configs/decoupling/lws_cifar-resnet20_digits-lt.py'))
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    group = next(g for g in wrapper.optimizer.param_groups if any(p is model.head.scales for p in g['params']))
    lr, wd = group['lr'], group['weight_decay']
    assert wd == pytest.approx(5e-4)
    # one SGD step with a zero loss gradient: only the decay moves f, f <- f - lr * wd * f
    model.head.scales.grad = torch.zeros(10)
    wrapper.optimizer.step()
    np.testing.assert_allclose(model.head.scales.detach().numpy(), np.full(10, 1 - lr * wd), rtol=1e-6)


def test_ncm_head_fit_predict_and_state_dict():
    torch.manual_seed(0)
    feats = torch.randn(30, 6) + 1.0
    labels = torch.arange(30) % 3
    head = MODELS.build(dict(type='NCMClsHead', num_classes=3, in_channels=6, feat_type='cl2n', dist_type='l2'))
    with pytest.raises(RuntimeError, match='no fitted centroids'):
        head((feats,))
    head.fit(feats, labels)
    # float64 reference: cl2n = centre by the training mean, then L2-normalise; score = -||q' - c||^2
    f = feats.double().numpy()
    mean = f.mean(0)
    fn = (f - mean) / np.linalg.norm(f - mean, axis=1, keepdims=True)
    cents = np.stack([fn[labels.numpy() == c].mean(0) for c in range(3)])
    q = torch.randn(7, 6)
    qn = (q.double().numpy() - mean) / np.linalg.norm(q.double().numpy() - mean, axis=1, keepdims=True)
    ref = torch.from_numpy(-((qn[:, None, :] - cents[None]) ** 2).sum(-1))
    torch.testing.assert_close(head((q,)).double(), ref, rtol=1e-5, atol=1e-5)
    preds = head.predict((q,))
    assert [int(p.pred_label) for p in preds] == ref.argmax(1).tolist()
    # persistent buffers: a fresh head reproduces the predictions from the state dict alone
    state = head.state_dict()
    assert set(state) == {'centroids', 'feat_mean', 'fitted'}
    fresh = MODELS.build(dict(type='NCMClsHead', num_classes=3, in_channels=6))
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh((q,)), head((q,)))
    with pytest.raises(RuntimeError, match='fitted, not trained'):
        head.loss((q,), [DataSample().set_gt_label(0)] * 7)
    wrong = MODELS.build(dict(type='NCMClsHead', num_classes=4, in_channels=6))
    with pytest.raises(CheckpointShapeError, match='num_classes=4'):
        wrong.load_state_dict(state)
    with pytest.raises(ValueError, match='model.head.feat_type'):
        MODELS.build(dict(type='NCMClsHead', num_classes=3, in_channels=6, feat_type='l2'))
    with pytest.raises(ValueError, match=r'\(N, 6\)'):
        head.fit(torch.randn(4, 5), torch.arange(4) % 3)
    # centroids fitted for cl2n must not be used with another feature transform
    other = MODELS.build(dict(type='NCMClsHead', num_classes=3, in_channels=6, feat_type='l2n'))
    with pytest.raises(ValueError, match="fitted with feat_type='cl2n' but model.head.feat_type='l2n'"):
        other.load_state_dict(state)
