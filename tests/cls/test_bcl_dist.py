"""Distributed BCL (2 gloo processes): the batch-global loss of the official single-process DataParallel code.

Each rank holds half of the views; with ``gather_views`` every rank's views are keys and its own views the anchors. The
mean of the rank losses must be the full-batch loss, the prototype gradients averaged over ranks (what DDP does) the
full-batch gradient, and each rank's feature gradient W times the full-batch one (DDP then divides by W).
Tolerance: float64 inputs, 1e-10.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from _dist import run_distributed

from ltplug.core.bcl import bcl_loss

TAU = 0.1


def _data():
    g = torch.Generator().manual_seed(0)
    feats = F.normalize(torch.randn(12, 6, generator=g, dtype=torch.float64), dim=1)
    labels = torch.tensor([0, 1, 1, 3, 0, 2, 0, 1, 1, 3, 0, 2])
    protos = F.normalize(torch.randn(5, 6, generator=g, dtype=torch.float64), dim=1)
    return feats, labels, protos


def _build_model():
    from mmpretrain.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='BCLClassifier', backbone=dict(type='CifarResNet', depth=8), neck=dict(type='GlobalAveragePooling'),
        head=dict(type='CosineClsHead', num_classes=10, in_channels=64,
                  loss=dict(type='LogitAdjustedLoss', class_counts=[5] * 10)),
        feat_dim=8, hidden_dim=16, contrast_loss=dict(type='BCLLoss', temperature=TAU, loss_weight=1.0)))
    model.init_weights()
    model.train()
    return model


def _model_batch():
    from mmpretrain.structures import DataSample

    g = torch.Generator().manual_seed(1)
    views = [torch.randn(4, 3, 8, 8, generator=g) for _ in range(3)]
    labels = [0, 3, 3, 7]
    return views, [DataSample().set_gt_label(t) for t in labels]


def _rank_fn(rank: int, world: int):
    import ltplug  # noqa: F401
    from ltplug.cls.models.bcl import gather_views

    feats, labels, protos = _data()
    n = feats.shape[0] // world
    x = feats[rank * n:(rank + 1) * n].clone().requires_grad_()
    p = protos.clone().requires_grad_()
    all_feats, all_labels, index = gather_views(x, labels[rank * n:(rank + 1) * n])
    loss = bcl_loss(all_feats, all_labels, p, TAU, anchor_index=index)
    loss.backward()

    views, samples = _model_batch()  # the same batch on both ranks: the global batch is it twice
    model_loss = _build_model().loss(views, samples)['loss_bcl'].item()

    try:  # unequal local batches cannot be gathered row-aligned: clear error
        gather_views(torch.zeros(2 + rank, 6), torch.zeros(2 + rank, dtype=torch.long))
        unequal = ''
    except ValueError as e:
        unequal = str(e)
    return loss.item(), x.grad, p.grad, model_loss, unequal


def test_gathered_loss_equals_the_full_batch_loss():
    world = 2
    results = run_distributed(_rank_fn, world)
    feats, labels, protos = _data()
    x, p = feats.clone().requires_grad_(), protos.clone().requires_grad_()
    full = bcl_loss(x, labels, p, TAU)
    full.backward()
    n = feats.shape[0] // world
    losses = [r[0] for r in results]
    assert abs(sum(losses) / world - full.item()) < 1e-10
    assert abs(losses[0] - losses[1]) > 1e-6  # each rank averages over its own anchors
    for rank, r in enumerate(results):
        torch.testing.assert_close(r[1] / world, x.grad[rank * n:(rank + 1) * n], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(sum(r[2] for r in results) / world, p.grad, rtol=1e-10, atol=1e-12)

    # the model wires the gather in: its loss equals BCL over the duplicated global batch, anchors = own rows
    import ltplug  # noqa: F401

    model = _build_model()
    views, samples = _model_batch()
    labels4 = torch.tensor([int(s.gt_label) for s in samples])
    with torch.no_grad():
        pooled = model.extract_feat(torch.cat(views))[-1]
        emb = F.normalize(model.contrast_head(pooled), dim=1)[4:]
        protos_m = F.normalize(model.proto_head(model.head.weight.t()), dim=1)
        ref = bcl_loss(torch.cat([emb, emb]), labels4.repeat(4), protos_m, TAU, anchor_index=torch.arange(8))
    for r in results:
        assert abs(r[3] - ref.item()) < 1e-5
    assert 'different numbers of views' in results[0][4] and 'drop_last' in results[0][4]
