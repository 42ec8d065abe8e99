"""ExtrapolationClsHead + NeighbourSilencingLoss adapters: target-only predictions, loss routing, buffers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import ltplug  # noqa: F401
from ltplug.core.counts import ClassCountsError
from ltplug.core.neighbour import build_neighbour_mask

init_default_scope('mmpretrain')

COUNTS = [40, 12, 3, 5, 5, 5, 5]  # 3 targets + 4 auxiliaries
PAIRS = [[0, 3], [1, 4], [2, 5], [2, 6]]


def build_head(**kw):
    cfg = dict(type='ExtrapolationClsHead', num_classes=7, num_target_classes=3, in_channels=4,
               loss=dict(type='NeighbourSilencingLoss', label_smoothing=0.1))
    cfg.update(kw)
    head = MODELS.build(cfg)
    head.init_weights()
    if hasattr(head.loss_module, 'set_neighbour_pairs'):
        head.loss_module.set_neighbour_pairs(np.array(PAIRS))
        head.loss_module.set_class_counts(np.array(COUNTS))
    return head


def ref_loss(logits, labels, mask, target=None, smoothing=0.1, tau=1.0):
    """float64 loop: smoothed target (hard label or mixup scores), logits + tau log(pi + 1e-9), the label's mask row
    silences classes (removed from the softmax and the target); mean over the samples."""
    logits = np.asarray(logits, np.float64)
    counts = np.asarray(COUNTS, np.float64)
    k = logits.shape[1]
    out = []
    for i, y in enumerate(np.asarray(labels)):
        keep = np.asarray(mask[y], bool)
        t = np.eye(k)[y] if target is None else np.asarray(target[i], np.float64)
        t = (t * (1 - smoothing) + smoothing / k) * keep
        z = (logits[i] + tau * np.log(counts / counts.sum() + 1e-9))[keep]
        logp = z - np.log(np.exp(z - z.max()).sum()) - z.max()
        out.append(-(t[keep] * logp).sum())
    return float(np.mean(out))


def samples(labels, scores=None):
    out = []
    for i, y in enumerate(labels):
        s = DataSample().set_gt_label(int(y))
        if scores is not None:
            s.set_gt_score(scores[i])
        out.append(s)
    return out


def test_predictions_never_land_on_an_auxiliary_class():
    head = build_head().eval()
    with torch.no_grad():
        head.fc.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 100.0, 100.0, 100.0, 100.0]))  # argmax over K: always aux
    feats = torch.randn(20, 4)
    assert (head((feats,)).argmax(1) >= 3).all()
    preds = head.predict((feats,))
    labels = torch.cat([p.pred_label for p in preds])
    assert (labels < 3).all()
    scores = torch.stack([p.pred_score for p in preds])
    assert scores.shape == (20, 3)
    # the target logits are exactly the first C_tgt rows of the K-way classifier, no prior added
    ref = feats @ head.fc.weight[:3].t() + head.fc.bias[:3]
    torch.testing.assert_close(scores, torch.softmax(ref, 1))
    torch.testing.assert_close(labels, ref.argmax(1))


def test_prediction_resizes_k_way_evaluation_samples():
    # with batch augments the data preprocessor one-hot encodes evaluation labels over K classes
    head = build_head().eval()
    data = [DataSample().set_gt_label(2).set_gt_score(torch.eye(7)[2])]
    pred = head.predict((torch.randn(1, 4),), data)[0]
    assert pred.num_classes == 3 and pred.pred_score.shape == (3,)
    torch.testing.assert_close(pred.gt_score, torch.eye(3)[2])


def test_loss_gets_hard_labels_and_mixup_scores():
    head = build_head().train()
    feats = torch.randn(5, 4)
    labels = torch.tensor([0, 3, 2, 5, 6])
    scores = 0.6 * torch.eye(7)[labels] + 0.4 * torch.eye(7)[labels.roll(1)]
    got = head.loss((feats,), samples(labels, scores))['loss']
    mask = build_neighbour_mask(np.array(PAIRS), 7).numpy()
    assert not mask.all()  # some pairs are silenced, so the mask matters
    logits = head((feats,)).detach().numpy()
    assert got.item() == pytest.approx(ref_loss(logits, labels, mask, scores.numpy()), rel=1e-5)
    plain = head.loss((feats,), samples(labels))['loss']  # no gt_score: smoothed one-hot of gt_label
    assert plain.item() == pytest.approx(ref_loss(logits, labels, mask), rel=1e-5)


def test_loss_fills_the_head_sizes_and_rejects_mismatches():
    head = build_head()
    assert head.loss_module.num_classes == 7 and head.loss_module.num_target_classes == 3
    with pytest.raises(ValueError, match='num_classes=9 differs'):
        build_head(loss=dict(type='NeighbourSilencingLoss', num_classes=9))
    with pytest.raises(ValueError, match='num_target_classes=7 must lie'):
        build_head(num_target_classes=7)
    with pytest.raises(ValueError, match='pooled features'):
        head((torch.randn(2, 4, 3, 3),))


def test_other_losses_take_the_usual_path():
    head = build_head(loss=dict(type='CrossEntropyLoss', use_soft=False))
    loss = head.loss((torch.randn(3, 4),), samples([0, 4, 6]))['loss']
    assert torch.isfinite(loss)


def test_loss_module_errors_and_buffers():
    loss = MODELS.build(dict(type='NeighbourSilencingLoss', num_classes=7, num_target_classes=3))
    logits, labels = torch.randn(2, 7), torch.tensor([0, 4])
    with pytest.raises(ValueError, match='no class counts'):
        loss(logits, labels)
    loss.set_class_counts(np.array(COUNTS))
    with pytest.raises(ValueError, match='no neighbour pairs'):
        loss(logits, labels)
    with pytest.raises(ValueError, match='every pair must be'):
        loss.set_neighbour_pairs(np.array([[3, 4]]))
    loss.set_neighbour_pairs(np.array(PAIRS))
    with pytest.raises(ValueError, match='hard \\(pre-mixup\\) label'):
        loss(logits, torch.softmax(torch.randn(2, 7), 1))
    with pytest.raises(ValueError, match='outputs 6 logits'):
        loss(torch.randn(2, 6), labels)
    with pytest.raises(ValueError, match='NaN'):
        loss(torch.full((2, 7), float('nan')), labels)
    with pytest.raises(ClassCountsError, match='counts for 3 classes but num_classes=7'):
        loss.set_class_counts(np.array([1, 2, 3]))
    state = loss.state_dict()
    assert {'prior', 'keep_mask', 'class_counts'} <= set(state)
    fresh = MODELS.build(dict(type='NeighbourSilencingLoss', num_classes=7))
    fresh.load_state_dict(state)  # a checkpoint carries the prior and the mask
    torch.testing.assert_close(fresh(logits, labels), loss(logits, labels))
    # 'no_fm': only targets with < 100 images are silenced, the mask is built when both pieces are there
    nofm = MODELS.build(dict(type='NeighbourSilencingLoss', num_classes=7, mask_type='no_fm', few_medium_thr=20,
                             neighbour_pairs=PAIRS))
    nofm.set_class_counts(np.array(COUNTS))
    assert bool(nofm.keep_mask[0, 3]) and not bool(nofm.keep_mask[1, 4]) and not bool(nofm.keep_mask[6, 2])
    unmask = MODELS.build(dict(type='NeighbourSilencingLoss', num_classes=7, mask_type='unmask', class_counts=COUNTS))
    assert torch.isfinite(unmask(logits, labels))  # BalCE needs no pairs


def test_balce_on_a_plain_linear_head():
    head = MODELS.build(dict(type='LinearClsHead', num_classes=3, in_channels=4,
                             loss=dict(type='NeighbourSilencingLoss', num_classes=3, mask_type='unmask')))
    head.loss_module.set_class_counts(np.array([10, 5, 1]))
    feats, labels = torch.randn(4, 4), torch.tensor([0, 1, 2, 2])
    got = head.loss((feats,), samples(labels))['loss']
    ref = torch.nn.functional.cross_entropy(head((feats,)) + torch.log(torch.tensor([10, 5, 1]) / 16 + 1e-9), labels)
    torch.testing.assert_close(got, ref)
