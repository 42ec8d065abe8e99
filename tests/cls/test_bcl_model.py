"""BCLClassifier (two-branch BCL model) and BCLDataPreprocessor with the real mmpretrain / mmengine stack."""
from __future__ import annotations

import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmengine.config import Config
from mmengine.dataset import default_collate, pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS, MODELS
from mmpretrain.structures import DataSample

import ltplug  # noqa: F401
from ltplug.core.bcl import bcl_loss

COUNTS = [120, 86, 61, 44, 31, 22, 16, 11, 8, 6]  # DigitsLT train split (imb_factor 20)
ALPHA, BETA, TAU = 2.0, 0.5, 0.1


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def build_model(**kw) -> torch.nn.Module:
    cfg = dict(
        type='BCLClassifier',
        backbone=dict(type='CifarResNet', depth=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='CosineClsHead', num_classes=10, in_channels=64, scale=30.0,
                  loss=dict(type='LogitAdjustedLoss', tau=1.0, loss_weight=ALPHA, class_counts=COUNTS)),
        feat_dim=16, hidden_dim=32,
        contrast_loss=dict(type='BCLLoss', temperature=TAU, loss_weight=BETA),
        data_preprocessor=dict(mean=[78.0] * 3, std=[96.0] * 3))
    cfg.update(kw)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _batch(b: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    views = [torch.randn(b, 3, 8, 8, generator=g) for _ in range(3)]
    labels = torch.tensor([0, 0, 3, 5, 9, 3, 1, 2][:b])
    return views, labels, [DataSample().set_gt_label(int(t)) for t in labels]


def test_loss_is_alpha_lc_plus_beta_bcl_from_one_encoder_pass():
    model = build_model()
    model.train()
    views, labels, samples = _batch()
    calls = []
    handle = model.backbone.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    losses = model.loss(views, samples)
    handle.remove()
    assert calls == [18]  # ONE pass over the 3B views
    assert set(losses) == {'loss_cls', 'loss_bcl'}

    with torch.no_grad():  # reference from the parts (train-mode BN: same batch -> same statistics)
        feats = model.extract_feat(torch.cat(views))[-1]
        logits = model.head((feats[:6],)).double().numpy()
        z = logits + np.log(np.asarray(COUNTS) / sum(COUNTS))
        z -= z.max(1, keepdims=True)
        lc = -(z[np.arange(6), labels.numpy()] - np.log(np.exp(z).sum(1))).mean()
        emb = F.normalize(model.contrast_head(feats), dim=1)  # BN over all 18 rows, as officially
        protos = F.normalize(model.proto_head(model.head.weight.t()), dim=1)
        lbcl = bcl_loss(emb[6:].double(), labels.repeat(2), protos.double(), TAU)
    assert losses['loss_cls'].item() == pytest.approx(ALPHA * lc, rel=1e-5)
    assert losses['loss_bcl'].item() == pytest.approx(BETA * lbcl.item(), rel=1e-5)


def test_float64_step_is_float64_end_to_end():
    """A float64 model trains in float64: the embeddings and prototypes reaching the BCL loss, both losses and every
    gradient are float64, and L_BCL equals a float64 recomputation from the parts to rel 1e-12 (one float32 round trip
    inside the model would put it about 1e-7 off)."""
    model = build_model().double()
    model.train()
    views, labels, samples = _batch()
    views = [v.double() for v in views]
    seen = {}
    model.contrast_loss.register_forward_pre_hook(lambda m, args: seen.update(args=args))
    losses = model.loss(views, samples)
    feats_in, _, protos_in = seen['args']
    assert feats_in.dtype == protos_in.dtype == torch.float64
    assert {k: v.dtype for k, v in losses.items()} == {'loss_cls': torch.float64, 'loss_bcl': torch.float64}
    with torch.no_grad():  # train-mode BN on the same batch: the same statistics
        feats = model.extract_feat(torch.cat(views))[-1]
        emb = F.normalize(model.contrast_head(feats), dim=1)
        protos = F.normalize(model.proto_head(model.head.weight.t()), dim=1)
        ref = BETA * bcl_loss(emb[6:], labels.repeat(2), protos, TAU).item()
    assert losses['loss_bcl'].item() == pytest.approx(ref, rel=1e-12)
    (losses['loss_cls'] + losses['loss_bcl']).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float64 for g in grads)


def test_prototypes_train_the_classifier_and_their_own_mlp():
    model = build_model()
    model.train()
    views, _, samples = _batch()
    model.loss(views, samples)['loss_bcl'].backward()
    assert model.head.weight.grad is not None and model.head.weight.grad.abs().sum() > 0
    for mlp in (model.proto_head, model.contrast_head):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in mlp.parameters())
    model.zero_grad(set_to_none=True)
    model.loss(views, samples)['loss_cls'].backward()
    assert all(p.grad is None for p in model.proto_head.parameters())


def test_prototype_bn_statistics_are_over_the_classes():
    model = build_model()
    model.train()
    bn = model.proto_head[1]
    views, _, samples = _batch()
    model.loss(views, samples)
    with torch.no_grad():
        hidden = model.proto_head[0](model.head.weight.t())  # the C = 10 class vectors through the first Linear
    torch.testing.assert_close(bn.running_mean, 0.1 * hidden.mean(0), rtol=1e-5, atol=1e-6)
    assert bn.num_batches_tracked.item() == 1


def test_prediction_uses_the_plain_view1_logits():
    model = build_model()
    model.eval()
    views, _, samples = _batch()
    with torch.no_grad():
        logits = model.head(model.extract_feat(views[0]))
        preds = model.predict(views, samples)
        single = model.predict(views[0])
        tensor = model(views, mode='tensor')
    expected = torch.softmax(logits, dim=1)  # no log prior at test time
    torch.testing.assert_close(torch.stack([p.pred_score for p in preds]), expected)
    torch.testing.assert_close(torch.stack([p.pred_score for p in single]), expected)
    torch.testing.assert_close(tensor, logits)


def _digits_bcl_dataset(cl_views: str):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'bcl', 'bcl_cifar-resnet20_digits-lt.py'))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.pipeline[0]['cl_views'] = cl_views
    return DATASETS.build(ds_cfg)


def test_data_preprocessor_keeps_views_apart_and_normalises_each():
    ds = _digits_bcl_dataset('rand-rand')
    items = [ds[i] for i in (0, 150, 300, 404)]
    model = build_model()
    pre = model.data_preprocessor
    for collate in (pseudo_collate, default_collate):
        out = pre(collate(items), training=True)
        assert isinstance(out['inputs'], list) and len(out['inputs']) == 3
        for v, view in enumerate(out['inputs']):
            raw = torch.stack([it['inputs'][v] for it in items]).float()
            torch.testing.assert_close(view, (raw - 78.0) / 96.0)
        assert [int(s.gt_label) for s in out['data_samples']] == [int(it['data_samples'].gt_label) for it in items]
    test_items = [dict(inputs=torch.zeros(3, 8, 8, dtype=torch.uint8), data_samples=DataSample().set_gt_label(1))] * 2
    single = pre(pseudo_collate(test_items))
    assert isinstance(single['inputs'], torch.Tensor) and single['inputs'].shape == (2, 3, 8, 8)


def test_real_training_steps_lower_the_loss():
    """SGD on one fixed real batch of 3-view digits (rand-rand): both the LC and the BCL terms go down."""
    torch.manual_seed(0)
    ds = _digits_bcl_dataset('rand-rand')
    rng = np.random.default_rng(0)
    data = pseudo_collate([ds[int(i)] for i in rng.choice(len(ds), 32, replace=False)])
    model = build_model()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    model.train()
    history = [model.train_step(data, optim) for _ in range(25)]
    first, last = history[0], history[-1]
    assert last['loss'] < 0.6 * first['loss']
    assert last['loss_cls'] < first['loss_cls'] and last['loss_bcl'] < first['loss_bcl']
    assert all(np.isfinite(float(h['loss'])) for h in history)


def test_clear_errors():
    model = build_model()
    views, _, samples = _batch()
    with pytest.raises(ValueError, match='expects a list of views'):
        model.loss(views[0], samples)
    with pytest.raises(ValueError, match='same shape'):
        model.loss([views[0], views[1], torch.zeros(6, 3, 10, 10)], samples)
    with pytest.raises(ValueError, match="must keep the 3 views of an image apart"):
        build_model(data_preprocessor=dict(type='ClsDataPreprocessor'))
    with pytest.raises(ValueError, match='has no in_channels'):
        build_model(head=dict(type='ClsHead'))
    with pytest.raises(ValueError, match='batch augmentations'):
        pre = MODELS.build(dict(type='BCLDataPreprocessor', num_classes=10,
                                batch_augments=dict(augments=dict(type='Mixup', alpha=0.2))))
        pre(dict(inputs=[torch.zeros(2, 3, 8, 8)] * 3, data_samples=samples[:2]), training=True)
