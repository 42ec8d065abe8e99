"""CosineClsHead (BCL's NormedLinear, s = 30): values against numpy float64, the official weight layout and init,
checkpoint shape errors, and use inside a plain mmpretrain ImageClassifier with the logit-adjusted loss."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import ltplug  # noqa: F401
from ltplug.utils import CheckpointShapeError


def _head(**kw):
    cfg = dict(type='CosineClsHead', num_classes=5, in_channels=8, scale=30.0)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_logits_are_scaled_cosines():
    head = _head()
    x = torch.randn(4, 8, dtype=torch.float64)
    head = head.double()
    logits = head((x,)).detach().numpy()
    w = head.weight.detach().numpy()  # (in, C), normalised per class column, as NormedLinear
    xn = x.numpy() / np.linalg.norm(x.numpy(), axis=1, keepdims=True)
    wn = w / np.linalg.norm(w, axis=0, keepdims=True)
    np.testing.assert_allclose(logits, 30.0 * xn @ wn, rtol=1e-12)
    assert np.all(np.abs(logits) <= 30.0 + 1e-9)
    # invariance to the feature norm and to each class vector's norm: only directions matter
    with torch.no_grad():
        head.weight[:, 2] *= 7.0
    np.testing.assert_allclose(head((3.0 * x,)).detach().numpy(), logits, rtol=1e-12)


def test_official_layout_and_init():
    torch.manual_seed(0)
    head = _head(num_classes=7, in_channels=16)
    assert tuple(head.weight.shape) == (16, 7)
    torch.testing.assert_close(head.weight.norm(dim=0), torch.ones(7), rtol=1e-5, atol=1e-5)
    assert tuple(head.class_weights.shape) == (7, 16)
    assert head.class_weights.data_ptr() == head.weight.data_ptr()  # a view: prototypes get gradients into W
    assert list(head.state_dict()) == ['weight']


def test_checkpoint_shape_errors_name_the_keys():
    head = _head()
    with pytest.raises(CheckpointShapeError, match='looks transposed'):
        head.load_state_dict({'weight': torch.zeros(5, 8)})
    with pytest.raises(CheckpointShapeError, match=r'\(model.head.in_channels, num_classes\) = \(8, 5\)'):
        head.load_state_dict({'weight': torch.zeros(8, 6)})
    state = _head().state_dict()
    head.load_state_dict(state)
    torch.testing.assert_close(head.weight, state['weight'])


def test_bad_config_values():
    with pytest.raises(ValueError, match='head.scale'):
        _head(scale=0)
    with pytest.raises(ValueError, match='head.num_classes'):
        _head(num_classes=0)
    with pytest.raises(ValueError, match=r'expected pooled features \(N, 8\)'):
        _head()((torch.zeros(2, 8, 3, 3),))


def test_in_image_classifier_with_logit_adjusted_loss():
    """Training loss = CE(z + log pi, y); prediction = softmax of the plain logits (no prior)."""
    torch.manual_seed(0)
    counts = [40, 10, 5, 3, 2]
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='CifarResNet', depth=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='CosineClsHead', num_classes=5, in_channels=64,
                  loss=dict(type='LogitAdjustedLoss', tau=1.0, class_counts=counts))))
    assert model.head.loss_module.num_classes == 5
    model.eval()
    x = torch.randn(6, 3, 8, 8)
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    samples = [DataSample().set_gt_label(int(t)) for t in labels]
    with torch.no_grad():
        logits = model(x, mode='tensor')
        loss = model.loss(x, samples)['loss']
        preds = model.predict(x)
    z = logits.double().numpy() + np.log(np.asarray(counts) / sum(counts))
    z -= z.max(1, keepdims=True)
    expected = -(z[np.arange(6), labels.numpy()] - np.log(np.exp(z).sum(1))).mean()
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    scores = torch.stack([p.pred_score for p in preds])
    torch.testing.assert_close(scores, torch.softmax(logits, dim=1))
