"""The vMF bbox classifier (explicit background), the head's losses, and the tau-normalised bbox classifier.

References are computed here in float64 from the captured RoI features and the parameters (tolerance 1e-5):
foreground test logits kappa' cos + b, training logits + log n_c; background w.x + b_bg (+ log mean n in training).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _vmf_reference import cfc_shared_kappa, icd_shared_kappa
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS
from mmengine.logging import MessageHub

import ltplug  # noqa: F401
from ltplug.core.vmf import VMFClassifier
from ltplug.det.tau_norm import TauNormBBoxClassifier
from ltplug.det.vmf_bbox_head import VMFBBoxClassifier

C, D = 4, 16
COUNTS = np.array([800, 60, 9, 2])
HEAD = dict(in_channels=8, fc_out_channels=D, roi_feat_size=7, num_classes=C,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False, loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))
_HUBS = itertools.count()


def set_progress(**info) -> None:
    hub = MessageHub.get_instance(f'test_vmf_det_{next(_HUBS)}')
    for k, v in info.items():
        hub.update_info(k, v)


def fg_reference(x, clf: VMFBBoxClassifier, kappa, bias, log_prior=None):
    xd, w = x.double(), clf.vmf.weight.detach().double()
    cos = (xd / xd.norm(dim=1, keepdim=True).clamp_min(1e-12)) @ (w / w.norm(dim=1, keepdim=True)).t()
    out = cos * kappa.double() + bias.double()
    return out if log_prior is None else out + log_prior.double()


def bg_reference(x, clf: VMFBBoxClassifier, offset: float = 0.0):
    return x.double() @ clf.bg.weight.detach().double().t() + clf.bg.bias.detach().double() + offset


def test_vmf_bbox_classifier_logits():
    clf = VMFBBoxClassifier(VMFClassifier(D, C))
    clf.vmf.set_class_counts(COUNTS)
    x = torch.relu(torch.randn(10, D, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        clf.vmf.kappa.copy_(torch.tensor([4.0, 12.0, 20.0, 30.0]))
    clf.train()
    out = clf(x)
    b = clf.vmf.bias.clone()  # b(kappa) stored by this training forward
    assert out.shape == (10, C + 1)
    torch.testing.assert_close(out[:, :C].double(), fg_reference(x, clf, clf.vmf.kappa.detach(), b,
                                                                 torch.log(torch.tensor(COUNTS))), atol=1e-5, rtol=0)
    # background: + log(mean n) in training, so fg - bg carries log(n_c / mean n)
    torch.testing.assert_close(out[:, C].double(), bg_reference(x, clf, math.log(COUNTS.mean()))[:, 0],
                               atol=1e-5, rtol=0)
    clf.eval()
    out = clf(x)
    torch.testing.assert_close(out[:, :C].double(), fg_reference(x, clf, clf.vmf.kappa.detach(), b), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[:, C].double(), bg_reference(x, clf)[:, 0], atol=1e-5, rtol=0)
    # calibration: foreground kappa' = kappa^a op'^(1-a) with the stored b; background untouched
    op = torch.tensor([0.8, 0.3, 0.55, 0.4])
    clf.vmf.op.copy_(op)
    clf.vmf.op_source.fill_(2)
    clf.vmf.calibrate(0.3)
    k = clf.vmf.kappa.detach().double()
    op_s = (op.double() - op.min()) / (op.max() - op.min()) * (k.max() - k.min()) + k.min()
    cal = clf(x)
    torch.testing.assert_close(cal[:, :C].double(), fg_reference(x, clf, k ** 0.3 * op_s ** 0.7, b), atol=1e-5, rtol=0)
    torch.testing.assert_close(cal[:, C], out[:, C], atol=0, rtol=0)


def test_head_init_loss_and_icd_weight():
    head = MODELS.build(dict(type='VMFShared2FCBBoxHead', aux_loss='icd', **HEAD))
    assert isinstance(head, Shared2FCBBoxHead) and isinstance(head.fc_cls, VMFBBoxClassifier)
    assert head.vmf is head.fc_cls.vmf
    before = head.fc_cls.vmf.weight.detach().clone()
    head.init_weights()
    assert torch.equal(before, head.fc_cls.vmf.weight)  # U(-1/sqrt d, 1/sqrt d) kept, no Normal(0, 0.01) override
    assert head.fc_cls.vmf.weight.abs().max() <= 1 / math.sqrt(D) and head.fc_cls.vmf.weight.std() > 0.05
    assert head.shared_fcs[0].weight.std() > 0  # the stock Xavier init of the shared FCs still runs

    head.fc_cls.vmf.set_class_counts(COUNTS)
    head.train()
    store = {}
    head.fc_cls.register_forward_hook(lambda _m, a, o: store.update(x=a[0].detach()))
    g = torch.Generator().manual_seed(1)
    n = 12
    cls_score, bbox_pred = head(torch.randn(n, 8, 7, 7, generator=g))
    labels = torch.tensor([0, 1, 2, 3, 4, 4, 4, 4, 0, 4, 2, 4])  # 4 = background
    label_weights = torch.ones(n)
    corners = torch.rand(n, 4, generator=g) * 20 + torch.tensor([0.0, 0.0, 30.0, 30.0])
    rois = torch.cat([torch.zeros(n, 1), corners], 1)
    set_progress(epoch=2, max_epochs=12, iter=100, max_iters=1200)
    losses = head.loss(cls_score, bbox_pred, rois, labels, label_weights, torch.zeros(n, 4), torch.ones(n, 4))
    logits = torch.cat([fg_reference(store['x'], head.fc_cls, torch.full((C,), 16.0), torch.zeros(C),
                                     torch.log(torch.tensor(COUNTS))),
                        bg_reference(store['x'], head.fc_cls, math.log(COUNTS.mean()))], 1)
    assert float(losses['loss_cls']) == pytest.approx(float(F.cross_entropy(logits, labels)), abs=1e-5)
    lam = 0.2 * (1 - 2 / 12) ** 0.9  # per epoch, the official schedule
    assert float(losses['aux_weight']) == pytest.approx(lam, abs=1e-7)
    icd = icd_shared_kappa(head.vmf.weight.detach().numpy(), 16.0)  # every kappa is still 16
    assert float(losses['loss_icd']) == pytest.approx(lam * icd, rel=1e-5)
    assert set(losses) == {'loss_cls', 'acc', 'loss_bbox', 'loss_icd', 'aux_weight', 'kappa_mean'}
    (losses['loss_cls'] + losses['loss_icd']).backward()
    assert head.fc_cls.vmf.kappa.grad.abs().sum() > 0 and head.fc_cls.bg.weight.grad.abs().sum() > 0

    # CFC on the positive RoIs only
    head_c = MODELS.build(dict(type='VMFShared2FCBBoxHead', aux_loss='icd+cfc', class_counts=COUNTS.tolist(), **HEAD))
    head_c.train()
    head_c.fc_cls.register_forward_hook(lambda _m, a, o: store.update(x=a[0].detach()))
    s, p = head_c(torch.randn(n, 8, 7, 7, generator=g))
    out = head_c.loss(s, p, rois, labels, label_weights, torch.zeros(n, 4), torch.ones(n, 4))
    # background RoIs (label C) never reach CFC
    ref = cfc_shared_kappa(store['x'].numpy(), labels.numpy(), head_c.vmf.weight.detach().numpy(), 16.0, ignore_index=C)
    assert float(out['loss_cfc']) == pytest.approx(lam * ref, rel=1e-5)
    assert 0 < float(out['loss_cfc']) < lam and head_c.vmf.last_features is None


def test_head_errors():
    with pytest.raises(ValueError, match='softmax'):
        MODELS.build(dict(type='VMFShared2FCBBoxHead', **{**HEAD, 'loss_cls': dict(type='CrossEntropyLoss',
                                                                                   use_sigmoid=True)}))
    with pytest.raises(ValueError, match='aux_loss'):
        MODELS.build(dict(type='VMFShared2FCBBoxHead', aux_loss='overlap', **HEAD))
    with pytest.raises(ValueError, match='num_classes=4'):
        MODELS.build(dict(type='VMFShared2FCBBoxHead', class_counts=[3, 2, 1], **HEAD))
    head = MODELS.build(dict(type='VMFShared2FCBBoxHead', **HEAD)).train()
    with pytest.raises(ValueError, match='ClassCountsHook'):
        head(torch.randn(2, 8, 7, 7))
    with pytest.raises(ValueError, match='model.roi_head.bbox_head.kappa_init'):
        MODELS.build(dict(type='VMFShared2FCBBoxHead', kappa_init=0.0, **HEAD))


def tau_reference(lin: torch.nn.Linear, x, tau, rescale, fg_bias):
    w = lin.weight.detach().double()
    b = lin.bias.detach().double()
    norms = w[:-1].norm(dim=1, keepdim=True)
    w_fg = w[:-1] / norms ** tau
    if rescale:
        w_fg = w_fg * (norms ** tau).mean()
    b_fg = {'keep': b[:-1], 'drop': torch.zeros(C, dtype=torch.float64), 'mean': b[:-1].mean().repeat(C)}[fg_bias]
    return x.double() @ torch.cat([w_fg, w[-1:]]).t() + torch.cat([b_fg, b[-1:]])


@pytest.mark.parametrize('tau,rescale,fg_bias', [(1.0, True, 'mean'), (0.7, False, 'drop'), (1.5, True, 'keep')])
def test_tau_norm_bbox_classifier(tau, rescale, fg_bias):
    lin = TauNormBBoxClassifier(D, C + 1, tau=tau, rescale=rescale, fg_bias=fg_bias)
    with torch.no_grad():  # rows of very different norms, as a long-tailed joint classifier has
        lin.weight.mul_(torch.tensor([3.0, 1.5, 0.6, 0.2, 1.0])[:, None])
    x = torch.randn(7, D, generator=torch.Generator().manual_seed(2))
    lin.train()
    torch.testing.assert_close(lin(x), F.linear(x, lin.weight, lin.bias))  # training: the plain linear classifier
    lin.eval()
    out = lin(x)
    torch.testing.assert_close(out.double(), tau_reference(lin, x, tau, rescale, fg_bias), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[:, C], F.linear(x, lin.weight, lin.bias)[:, C])  # background untouched


def test_tau_norm_in_a_stock_head():
    stock = MODELS.build(dict(type='Shared2FCBBoxHead', **HEAD))
    tau = MODELS.build(dict(type='Shared2FCBBoxHead', cls_predictor_cfg=dict(type='TauNormBBoxClassifier', tau=0.0,
                                                                              fg_bias='keep'), **HEAD))
    assert isinstance(tau.fc_cls, TauNormBBoxClassifier)
    tau.load_state_dict(stock.state_dict())  # a stock checkpoint loads as is
    stock.eval()
    tau.eval()
    feats = torch.randn(3, 8, 7, 7)
    torch.testing.assert_close(tau(feats)[0], stock(feats)[0])  # tau = 0, biases kept: identical to the stock head
    with pytest.raises(ValueError, match='fg_bias'):
        TauNormBBoxClassifier(D, C + 1, fg_bias='zero')
    with pytest.raises(ValueError, match='tau'):
        TauNormBBoxClassifier(D, C + 1, tau=-1.0)
