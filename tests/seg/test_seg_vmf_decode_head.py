"""The vMF decode head with the three stock mmseg heads: wiring, logits (train / test / calibrated), losses, errors.

References are computed here in float64 from the captured pixel embeddings and the classifier's parameters:
test logits = kappa' cos + b (no prior), training logits = max(kappa, 1) cos + b + log n_c, kappa' = kappa^a op'^(1-a)
with op' the min-max rescale of op into [min kappa, max kappa]. Tolerances: 1e-5 absolute (float32 model outputs).
"""
from __future__ import annotations

import itertools
import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _vmf_reference import cfc_shared_kappa, icd_shared_kappa
from mmengine.logging import MessageHub
from mmengine.structures import PixelData
from mmseg.models.decode_heads import DepthwiseSeparableASPPHead, FCNHead, UPerHead
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import ltplug  # noqa: F401
from ltplug.core.vmf import VMFClassifier
from ltplug.seg.vmf_decode_head import VMFPixelClassifier
from ltplug.vmf_adapter import drop_init_override

C = 5
HEADS = {
    'FCNHead': dict(in_channels=64, in_index=3, channels=12, num_convs=1, concat_input=False),
    'DepthwiseSeparableASPPHead': dict(in_channels=64, in_index=3, channels=12, dilations=(1, 2, 3, 4),
                                       c1_in_channels=8, c1_channels=4),
    'UPerHead': dict(in_channels=[8, 16, 32, 64], in_index=[0, 1, 2, 3], channels=12, pool_scales=(1, 2, 3)),
}
STOCK = {'FCNHead': FCNHead, 'DepthwiseSeparableASPPHead': DepthwiseSeparableASPPHead, 'UPerHead': UPerHead}


def build_head(name: str, **kw):
    cfg = dict(type='VMFDecodeHead', head_type=name, num_classes=C, dropout_ratio=0.0, **HEADS[name])
    cfg.update(kw)
    return MODELS.build(cfg)


def features(n: int = 2, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, ch, s, s, generator=g) for ch, s in ((8, 16), (16, 8), (32, 4), (64, 2))]


def samples(n: int, size: int = 32, seed: int = 0, ignore_frac: float = 0.2) -> list[SegDataSample]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        lab = torch.randint(0, C, (1, size, size), generator=g)
        lab[torch.rand(1, size, size, generator=g) < ignore_frac] = 255
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab)
        s.set_metainfo(dict(img_shape=(size, size), pad_shape=(size, size)))
        out.append(s)
    return out


def capture(module):
    """Forward hook recording the input and output of a module."""
    store = {}

    def hook(_m, args, out):
        store['x'] = args[0].detach()
        store['y'] = out.detach()
    module.register_forward_hook(hook)
    return store


def manual_logits(x: torch.Tensor, clf: VMFClassifier, kappa: torch.Tensor, bias: torch.Tensor,
                  log_prior: torch.Tensor | None = None) -> torch.Tensor:
    """float64 reference: kappa_c cos(x, w_c) + bias_c [+ log_prior_c], channel-first maps."""
    xd = x.double().movedim(1, -1)
    w = clf.weight.detach().double()
    cos = (xd / xd.norm(dim=-1, keepdim=True).clamp_min(1e-12)) @ (w / w.norm(dim=1, keepdim=True)).t()
    out = cos * kappa.double() + bias.double()
    if log_prior is not None:
        out = out + log_prior.double()
    return out.movedim(-1, 1)


_HUBS = itertools.count()


def set_progress(**info) -> None:
    """Make a fresh MessageHub (the current instance) holding the given runtime info."""
    hub = MessageHub.get_instance(f'test_vmf_seg_{next(_HUBS)}')
    for k, v in info.items():
        hub.update_info(k, v)


@pytest.mark.parametrize('name', sorted(HEADS))
def test_stock_head_with_vmf_classifier(name):
    head = build_head(name)
    assert type(head.head) is STOCK[name] and head.head.conv_seg is head.vmf
    assert isinstance(head.vmf, VMFPixelClassifier) and head.vmf.num_classes == C
    assert (head.num_classes, head.out_channels, head.align_corners) == (C, C, False)  # what EncoderDecoder reads
    assert head.vmf.in_features == 12
    # the stock module tree is kept under 'head.': only conv_seg differs from the stock head's state dict
    stock = STOCK[name](num_classes=C, dropout_ratio=0.0, **HEADS[name])
    own = {k[len('head.'):] for k in head.state_dict() if not k.startswith('head.conv_seg.')}
    assert own == {k for k in stock.state_dict() if not k.startswith('conv_seg.')}
    # init: the vMF U(-1/sqrt d, 1/sqrt d) weights survive init_weights (the stock Normal(0, 0.01) override is dropped)
    before = head.vmf.weight.detach().clone()
    head.init_weights()
    assert torch.equal(before, head.vmf.weight)
    bound = 1 / math.sqrt(12)
    assert head.vmf.weight.abs().max() <= bound and head.vmf.weight.std() > 0.1 * bound
    assert torch.all(head.vmf.kappa == 16.0)
    # the head pickles (and deep-copies) like any stock head
    clone = pickle.loads(pickle.dumps(head))
    assert type(clone) is type(head) and torch.equal(clone.vmf.weight, head.vmf.weight)


@pytest.mark.parametrize('name', sorted(HEADS))
def test_eval_and_calibrated_logits_are_exact(name):
    head = build_head(name).eval()
    feats = features()
    rec = capture(head.vmf)
    with torch.no_grad():
        head.vmf.kappa.copy_(torch.tensor([0.5, 3.0, 9.0, 16.0, 40.0]))  # one below the clamp at 1
        out = head.forward(feats)
    kappa_eff = head.vmf.kappa.detach().clamp(min=1.0)
    ref = manual_logits(rec['x'], head.vmf, kappa_eff, head.vmf.bias)
    assert out.shape == (2, C) + tuple(rec['x'].shape[2:])
    torch.testing.assert_close(out.double(), ref, atol=1e-5, rtol=0)

    # calibration: kappa' = kappa^a op'^(1-a), b unchanged (the stored buffer, not b(kappa'))
    op = torch.tensor([0.9, 0.2, 0.5, 0.35, 0.7])
    head.vmf.op.copy_(op)
    head.vmf.op_source.fill_(2)  # 'icd': statistics stored by training
    bias_before = head.vmf.bias.clone()
    alpha = 0.5
    head.vmf.calibrate(alpha)
    with torch.no_grad():
        out_cal = head.forward(feats)
    k = kappa_eff.double()
    op_scaled = (op.double() - op.min()) / (op.max() - op.min()) * (k.max() - k.min()) + k.min()
    kappa_cal = k ** alpha * op_scaled ** (1 - alpha)
    ref_cal = manual_logits(rec['x'], head.vmf, kappa_cal, bias_before)
    torch.testing.assert_close(out_cal.double(), ref_cal, atol=1e-5, rtol=0)
    assert not torch.allclose(out_cal, out)
    head.vmf.calibrate(1.0)  # off again: back to the uncalibrated logits
    with torch.no_grad():
        torch.testing.assert_close(head.forward(feats), out, atol=1e-6, rtol=0)


def test_training_logits_prior_loss_and_icd_weight():
    head = build_head('UPerHead', aux_loss='icd').train()
    counts = np.array([5000, 900, 120, 30, 4])
    head.vmf.set_class_counts(counts)
    feats = features()
    data = samples(2)
    rec = capture(head.vmf)
    set_progress(iter=30, max_iters=100, epoch=0, max_epochs=1)
    losses = head.loss(feats, data, train_cfg={})
    # training logits = max(kappa, 1) cos + b(kappa) + log n_c (b = 0 at the initial kappa = 16)
    log_n = torch.log(torch.tensor(counts))
    ref = manual_logits(rec['x'], head.vmf, torch.full((C,), 16.0), torch.zeros(C), log_n)
    torch.testing.assert_close(rec['y'].double(), ref, atol=1e-5, rtol=0)
    # the stock CE on the upsampled training logits, ignore index 255 (mmseg: mean over all pixels, ignored count 0)
    labels = torch.stack([s.gt_sem_seg.data for s in data]).squeeze(1)
    up = F.interpolate(ref, size=labels.shape[1:], mode='bilinear', align_corners=False)
    ce = F.cross_entropy(up, labels, ignore_index=255, reduction='none').mean()
    assert abs(float(losses['loss_ce']) - float(ce)) < 1e-4
    # lambda = 0.2 (1 - 30/100)^0.9 from the MessageHub iteration info
    lam = 0.2 * 0.7 ** 0.9
    assert abs(float(losses['aux_weight']) - lam) < 1e-6
    icd = icd_shared_kappa(head.vmf.weight.detach().numpy(), 16.0)  # every kappa is still 16
    assert float(losses['loss_icd']) == pytest.approx(lam * icd, rel=1e-5)
    assert set(losses) == {'loss_ce', 'acc_seg', 'loss_icd', 'aux_weight', 'kappa_mean'}
    # the ICD term reaches kappa and the class weights
    (losses['loss_ce'] + losses['loss_icd']).backward()
    assert head.vmf.kappa.grad is not None and head.vmf.weight.grad.abs().sum() > 0
    # op now holds the ICD row means of this step, which calibration will use
    assert int(head.vmf.op_source) == 2

    # epoch schedule reads (epoch, max_epochs)
    head_e = build_head('FCNHead', aux_loss='icd', aux_loss_schedule='epoch')
    head_e.vmf.set_class_counts(counts)
    set_progress(iter=5, max_iters=100, epoch=3, max_epochs=4)
    out = head_e.train().loss(feats, data, train_cfg={})
    assert abs(float(out['aux_weight']) - 0.2 * 0.25 ** 0.9) < 1e-6
    # CFC only: no ICD key, the same aux_weight key
    head_c = build_head('FCNHead', aux_loss='cfc')
    head_c.vmf.set_class_counts(counts)
    assert set(head_c.train().loss(feats, data, train_cfg={})) == {'loss_ce', 'acc_seg', 'loss_cfc', 'aux_weight',
                                                                  'kappa_mean'}


def test_cfc_loss_on_pixel_embeddings():
    """CFC on the pixel embeddings with the labels nearest-downsampled to their resolution, ignored pixels dropped."""
    head = build_head('DepthwiseSeparableASPPHead', aux_loss='icd+cfc').train()
    head.vmf.set_class_counts([10, 10, 10, 10, 10])
    set_progress(iter=0, max_iters=10)
    rec = capture(head.vmf)
    feats = [f.requires_grad_(True) for f in features()]
    data = samples(2)
    losses = head.loss(feats, data, train_cfg={})
    assert {'loss_ce', 'loss_icd', 'loss_cfc', 'aux_weight'} <= set(losses)
    emb = rec['x']  # (N, d, h, w), the input of the classifier
    labels = torch.stack([s.gt_sem_seg.data for s in data]).float()
    small = F.interpolate(labels, size=emb.shape[2:], mode='nearest').long().squeeze(1)
    ref = cfc_shared_kappa(emb.movedim(1, -1).numpy(), small.numpy(), head.vmf.weight.detach().numpy(), 16.0,
                           ignore_index=255)
    assert float(losses['loss_cfc']) == pytest.approx(0.2 * ref, rel=1e-5)
    losses['loss_cfc'].backward()
    assert feats[3].grad is not None and feats[3].grad.abs().sum() > 0


def test_clear_errors():
    with pytest.raises(ValueError, match='head_type'):
        MODELS.build(dict(type='VMFDecodeHead', head_type='NoSuchHead', num_classes=C, **HEADS['FCNHead']))
    with pytest.raises(ValueError, match='out_channels'):
        build_head('FCNHead', num_classes=2, out_channels=1, threshold=0.5)
    with pytest.raises(ValueError, match='aux_loss'):
        build_head('FCNHead', aux_loss='kl')
    with pytest.raises(ValueError, match='aux_loss_schedule'):
        build_head('FCNHead', aux_loss_schedule='step')
    head = build_head('FCNHead', aux_loss='icd').train()
    set_progress(iter=0, max_iters=10)
    with pytest.raises(ValueError, match='ClassCountsHook'):  # training logits need log n_c
        head.loss(features(), samples(2), train_cfg={})
    with pytest.raises(ValueError, match='num_classes=5'):
        build_head('FCNHead', class_counts=[1, 2, 3])
    head.vmf.set_class_counts([1, 2, 3, 4, 5])
    set_progress()  # a hub without runtime info
    with pytest.raises(ValueError, match='MessageHub'):
        head.loss(features(), samples(2), train_cfg={})
    bad = features()
    bad[3][0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        head.eval().forward(bad)


def test_drop_init_override():
    stock = dict(type='Normal', std=0.01, override=dict(name='conv_seg'))
    assert drop_init_override(stock, 'conv_seg') is None
    mixed = [dict(type='Normal', std=0.01, override=[dict(name='conv_seg'), dict(name='convs')]),
             dict(type='Kaiming', layer='Conv2d')]
    assert drop_init_override(mixed, 'conv_seg') == [dict(type='Normal', std=0.01, override=[dict(name='convs')]),
                                                     dict(type='Kaiming', layer='Conv2d')]
    with_layer = dict(type='Normal', layer='Conv2d', std=0.01, override=dict(name='conv_seg'))
    assert drop_init_override(with_layer, 'conv_seg') == dict(type='Normal', layer='Conv2d', std=0.01)
