"""VMFClsHead (mmpretrain) and the multi-crop data preprocessor, with the real mmpretrain / mmengine."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _vmf_reference import cfc_shared_kappa, icd_shared_kappa
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS, TRANSFORMS
from mmpretrain.structures import DataSample

import ltplug  # noqa: F401
from ltplug.core.vmf import OP_SOURCES, VMFClassifier

C, D = 5, 16
COUNTS = [40, 20, 10, 5, 2]


def make_head(**kw):
    torch.manual_seed(0)
    cfg = dict(type='VMFClsHead', num_classes=C, in_channels=D, class_counts=COUNTS)
    cfg.update(kw)
    return MODELS.build(cfg)


def samples(labels):
    return [DataSample().set_gt_label(int(y)) for y in labels]


def set_epoch(epoch, max_epochs, name='vmf_head_test'):
    hub = MessageHub.get_instance(f'{name}_{epoch}_{max_epochs}')
    hub.update_info('epoch', epoch)
    hub.update_info('max_epochs', max_epochs)
    return hub


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(8, D, generator=g).relu(), torch.tensor([0, 0, 1, 2, 2, 3, 4, 0])


@pytest.mark.parametrize('aux', ['none', 'icd', 'cfc', 'icd+cfc'])
def test_loss_matches_closed_forms(aux, batch):
    """CE, lambda ICD and lambda CFC of a first step (every kappa = 16) against scipy closed forms; the log keys."""
    x, y = batch
    head = make_head(aux_loss=aux)
    head.train()
    set_epoch(3, 10)
    losses = head.loss((x,), samples(y))
    vmf = head.vmf
    # independent recomputation of the training logits and the auxiliary terms
    cos = F.normalize(x, dim=1) @ F.normalize(vmf.weight.detach(), dim=1).t()
    logits = cos * vmf.kappa.detach().clamp(min=1) + vmf.bias + torch.log(torch.tensor(COUNTS, dtype=torch.float))
    assert losses['loss'].item() == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)
    lam = 0.2 * 0.7 ** 0.9  # 0.2 (1 - e/E)^0.9 at epoch 3 of 10
    w = vmf.weight.detach().numpy()
    expected_keys = {'loss', 'kappa_mean'}
    if 'icd' in aux:
        expected_keys |= {'loss_icd', 'aux_weight'}
        assert losses['loss_icd'].item() == pytest.approx(lam * icd_shared_kappa(w, 16.0), rel=1e-5)
        assert int(vmf.op_source) == OP_SOURCES.index('icd')
    else:
        assert int(vmf.op_source) == OP_SOURCES.index('bias')  # the official fallback
    if 'cfc' in aux:
        expected_keys |= {'loss_cfc', 'aux_weight'}
        assert losses['loss_cfc'].item() == pytest.approx(lam * cfc_shared_kappa(x, y, w, 16.0), rel=1e-5)
    assert set(losses) == expected_keys
    if 'aux_weight' in losses:
        assert losses['aux_weight'].item() == pytest.approx(lam)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert vmf.kappa.grad is not None and vmf.weight.grad is not None


def test_aux_weight_needs_epoch(batch):
    x, y = batch
    head = make_head(aux_loss='icd')
    MessageHub.get_instance('vmf_head_no_epoch')  # a fresh current hub without runtime info
    with pytest.raises(ValueError, match="needs 'iter' and 'max_iters'"):
        head.loss((x,), samples(y))
    # an IterBasedTrainLoop reports max_epochs = 1: 'auto' then decays over iter / max_iters
    hub = MessageHub.get_instance('vmf_head_iters')
    hub.update_info('epoch', 0)
    hub.update_info('max_epochs', 1)
    hub.update_info('iter', 50)
    hub.update_info('max_iters', 100)
    losses = head.loss((x,), samples(y))
    assert losses['aux_weight'].item() == pytest.approx(0.2 * 0.5 ** 0.9)
    # an epoch-based run: lambda_e = 0.2 (1 - e/E)^0.9, constant within the epoch (the official rule)
    hub = MessageHub.get_instance('vmf_head_epochs')
    hub.update_info('epoch', 3)
    hub.update_info('max_epochs', 10)
    hub.update_info('iter', 37)
    hub.update_info('max_iters', 100)
    losses = head.loss((x,), samples(y))
    assert losses['aux_weight'].item() == pytest.approx(0.2 * 0.7 ** 0.9)
    forced = make_head(aux_loss='icd', aux_loss_schedule='iter')
    assert forced.loss((x,), samples(y))['aux_weight'].item() == pytest.approx(0.2 * 0.63 ** 0.9)
    with pytest.raises(ValueError, match='aux_loss_schedule'):
        make_head(aux_loss='icd', aux_loss_schedule='epochs')


def test_missing_counts_and_bad_config(tmp_path, batch):
    x, y = batch
    set_epoch(0, 5)
    head = make_head(class_counts=None)
    with pytest.raises(ValueError, match='ClassCountsHook'):
        head.loss((x,), samples(y))
    # counts from a class-count file (one integer per line)
    path = tmp_path / 'counts.txt'
    path.write_text('\n'.join(map(str, COUNTS)) + '\n')
    head = make_head(class_counts=str(path))
    assert torch.equal(head.vmf.class_counts, torch.tensor(COUNTS))
    with pytest.raises(ValueError, match='model.head.aux_loss'):
        make_head(aux_loss='kl')
    with pytest.raises(ValueError, match='counts for 3 classes'):
        make_head(class_counts=[1, 2, 3])
    # the hook finds the inner classifier (set_class_counts + num_classes) and no head duplicate
    consumers = [m for m in make_head().modules() if hasattr(m, 'set_class_counts')]
    assert len(consumers) == 1 and isinstance(consumers[0], VMFClassifier)


def test_predict_uses_test_logits(batch):
    x, y = batch
    head = make_head()
    head.train()
    set_epoch(0, 5)
    head.loss((x,), samples(y))
    head.eval()
    preds = head.predict((x,), samples(y))
    vmf = head.vmf
    cos = F.normalize(x, dim=1) @ F.normalize(vmf.weight.detach(), dim=1).t()
    expected = F.softmax(cos * vmf.kappa.detach().clamp(min=1) + vmf.bias, dim=1)  # no prior at test
    got = torch.stack([p.pred_score for p in preds])
    assert torch.allclose(got, expected, atol=1e-6)


def test_checkpoint_shape_error():
    head = make_head()
    other = MODELS.build(dict(type='VMFClsHead', num_classes=C + 1, in_channels=D))
    with pytest.raises(ValueError, match='num_classes=5'):
        head.load_state_dict(other.state_dict())


def test_kappa_excluded_from_weight_decay():
    model = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=8),
                              neck=dict(type='GlobalAveragePooling'),
                              head=dict(type='VMFClsHead', num_classes=C, in_channels=64)))
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=5e-4),
        paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=0.5),
                                        'head.vmf.kappa': dict(lr_mult=0.5, decay_mult=0.0)})))
    groups = {id(p): g for g in wrapper.optimizer.param_groups for p in g['params']}
    kappa_group = groups[id(model.head.vmf.kappa)]
    weight_group = groups[id(model.head.vmf.weight)]
    assert kappa_group['weight_decay'] == 0.0 and kappa_group['lr'] == pytest.approx(0.1)
    assert weight_group['weight_decay'] == pytest.approx(5e-4) and weight_group['lr'] == pytest.approx(0.1)
    assert groups[id(model.backbone.conv1.weight)]['lr'] == pytest.approx(0.2)


def test_multicrop_preprocessor_two_views():
    """MultiView(2) + PackInputs + pseudo_collate -> 2B normalised crops, interleaved per image, labels repeated."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # MultiView builds its inner transforms by scope
        pipeline = [TRANSFORMS.build(dict(type='MultiView', num_views=2, transforms=[[
            dict(type='RandomCrop', crop_size=6), dict(type='RandomFlip', prob=0.5)]])),
            TRANSFORMS.build(dict(type='PackInputs'))]
    rng = np.random.default_rng(0)
    items = []
    for i in range(3):
        res = dict(img=rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), gt_label=i + 1, img_shape=(8, 8),
                   ori_shape=(8, 8))
        for t in pipeline:
            res = t(res)
        items.append(res)
    data = pseudo_collate(items)
    pre = MODELS.build(dict(type='MultiCropClsDataPreprocessor', num_views=2, mean=[10.0] * 3, std=[2.0] * 3))
    out = pre(data, training=True)
    assert out['inputs'].shape == (6, 3, 6, 6)
    labels = torch.cat([s.gt_label for s in out['data_samples']])
    assert labels.tolist() == [1, 1, 2, 2, 3, 3]
    for i, item in enumerate(items):
        for v in range(2):
            expected = (item['inputs'][v].float() - 10.0) / 2.0
            assert torch.allclose(out['inputs'][2 * i + v], expected)
    # a single-view (validation) batch is untouched by the multi-crop logic
    single = pseudo_collate([dict(inputs=torch.zeros(3, 6, 6, dtype=torch.uint8), data_samples=DataSample()
                                  .set_gt_label(0))])
    assert pre(single, training=False)['inputs'].shape == (1, 3, 6, 6)
    with pytest.raises(ValueError, match='num_views=3'):
        MODELS.build(dict(type='MultiCropClsDataPreprocessor', num_views=3))(data, training=True)


def test_two_view_training_step_with_vmf_head():
    """ImageClassifier + MultiCropClsDataPreprocessor + VMFClsHead: one loss on the 2B crops, labels repeated."""
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ImageClassifier', backbone=dict(type='CifarResNet', depth=8), neck=dict(type='GlobalAveragePooling'),
        head=dict(type='VMFClsHead', num_classes=C, in_channels=64, class_counts=COUNTS, aux_loss='icd'),
        data_preprocessor=dict(type='MultiCropClsDataPreprocessor', num_views=2, mean=[127.5] * 3, std=[64.0] * 3)))
    rng = np.random.default_rng(0)
    items = [dict(inputs=[torch.from_numpy(rng.integers(0, 255, (3, 8, 8), dtype=np.uint8)) for _ in range(2)],
                  data_samples=DataSample().set_gt_label(i % C)) for i in range(4)]
    seen = {}
    model.head.vmf.register_forward_pre_hook(lambda m, inp: seen.setdefault('x', inp[0]))
    set_epoch(0, 45)
    model.train()
    losses = model.train_step(pseudo_collate(items), build_optim_wrapper(model, dict(
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
        paramwise_cfg=dict(custom_keys={'head.vmf.kappa': dict(decay_mult=0.0)}))))
    assert seen['x'].shape == (8, 64)  # 4 images x 2 views reach the classifier
    assert set(losses) >= {'loss', 'loss_icd'} and all(torch.isfinite(v) for v in losses.values())
