"""ClassBalancedLoss around mmpretrain's own CE / sigmoid CE / focal, and LDAMLoss, against float64 per-sample loops
written from the official formulas (richardaecn/class-balanced-loss, kaidic/LDAM-DRW). Tolerances: 1e-6 relative where
a float32 step is involved (mmpretrain casts per-sample weights to float32; LDAM margins are float32 as officially),
1e-12 otherwise."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import ltplug  # noqa: F401
from ltplug.core.counts import ClassCountsError

COUNTS = np.array([400, 90, 20, 6, 2])
BETA = 0.999


def _cb_weights() -> np.ndarray:
    w = [(1 - BETA) / (1 - BETA ** n) for n in COUNTS]
    return np.array(w) / sum(w) * len(w)


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(12, 5)) * 2
    y = rng.integers(0, 5, size=12)
    return z, y


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def _reference(z: np.ndarray, y: np.ndarray, kind: str, gamma: float = 0.0) -> float:
    """sum_i w_{y_i} l_i / N, l_i the softmax CE or the sum over classes of the sigmoid (focal) BCE terms."""
    w = _cb_weights()
    total = 0.0
    for i in range(len(y)):
        if kind == 'softmax':
            m = max(z[i])
            li = -(z[i, y[i]] - m - math.log(sum(math.exp(v - m) for v in z[i])))
        else:
            li = 0.0
            for c in range(z.shape[1]):
                t = 1.0 if c == y[i] else 0.0
                p = _sigmoid(z[i, c])
                p_t = p if t else 1 - p
                li += (1 - p_t) ** gamma * -math.log(p_t)
        total += w[y[i]] * li
    return total / len(y)


@pytest.mark.parametrize('kind, inner, gamma', [
    ('softmax', dict(type='CrossEntropyLoss'), 0.0),
    ('sigmoid', dict(type='FocalLoss', gamma=0.0, alpha=0.5, loss_weight=2.0), 0.0),  # the cb-sigmoid config
    ('focal', dict(type='FocalLoss', gamma=1.0, alpha=0.5, loss_weight=2.0), 1.0),
    ('focal', dict(type='FocalLoss', gamma=2.0, alpha=0.5, loss_weight=2.0), 2.0),
])
def test_class_balanced_mmpretrain_losses_in_a_cls_head(kind, inner, gamma):
    z, y = _data()
    loss_cfg = dict(type='ClassBalancedLoss', beta=BETA, class_counts=COUNTS.tolist(), loss=inner)
    head = MODELS.build(dict(type='ClsHead', loss=loss_cfg))  # ClsHead.loss: avg_factor = batch size, as in training
    samples = [DataSample().set_gt_label(int(c)) for c in y]
    got = head.loss((torch.from_numpy(z),), samples)['loss']
    assert float(got) == pytest.approx(_reference(z, y, kind, gamma), rel=1e-6)  # weights cast to float32
    np.testing.assert_allclose(head.loss_module.class_weight, _cb_weights(), rtol=1e-12)


def test_class_balanced_errors_and_beta_zero():
    z, y = _data()
    plain = MODELS.build(dict(type='CrossEntropyLoss'))
    cb0 = MODELS.build(dict(type='ClassBalancedLoss', beta=0.0, class_counts=COUNTS.tolist(),
                            loss=dict(type='CrossEntropyLoss')))
    zt, yt = torch.from_numpy(z), torch.from_numpy(y)
    assert float(cb0(zt, yt, avg_factor=12)) == pytest.approx(float(plain(zt, yt, avg_factor=12)), rel=1e-14)
    with pytest.raises(ClassCountsError, match='ClassCountsHook'):
        MODELS.build(dict(type='ClassBalancedLoss', loss=dict(type='CrossEntropyLoss')))(zt, yt)
    with pytest.raises(ValueError, match='loss.beta'):
        MODELS.build(dict(type='ClassBalancedLoss', beta=1.0, loss=dict(type='CrossEntropyLoss')))
    with pytest.raises(ClassCountsError, match='head.num_classes'):
        cb0(zt[:, :4], yt.clamp(max=3))


def _ldam_reference(z: np.ndarray, y: np.ndarray, s: float, w: np.ndarray | None) -> float:
    m = 0.5 * (COUNTS.min() / COUNTS) ** 0.25
    num = den = 0.0
    for i in range(len(y)):
        row = s * (z[i] - m[y[i]] * (np.arange(5) == y[i]))
        mx = row.max()
        li = -(row[y[i]] - mx - math.log(sum(math.exp(v - mx) for v in row)))
        wi = 1.0 if w is None else w[y[i]]
        num += wi * li
        den += wi
    return num / den


@pytest.mark.parametrize('weighted', [False, True])
def test_ldam_loss_module_both_scalings(weighted):
    z, y = _data(1)
    z = np.tanh(z)  # cosines
    w = _cb_weights() if weighted else None
    ref = _ldam_reference(z, y, 30.0, w)
    official = MODELS.build(dict(type='LDAMLoss', class_counts=COUNTS.tolist()))
    prescaled = MODELS.build(dict(type='LDAMLoss', class_counts=COUNTS.tolist(), input_scaled=True))
    for loss in (official, prescaled):
        loss.class_weight = None if w is None else w.tolist()  # what DeferredReweightingHook does
        loss.double()
    zt, yt = torch.from_numpy(z), torch.from_numpy(y)
    # margins are float32 (as the official torch.FloatTensor): relative agreement to float32 precision times s
    assert float(official(zt, yt, avg_factor=12)) == pytest.approx(ref, rel=1e-6)
    assert float(prescaled(30.0 * zt, yt)) == pytest.approx(float(official(zt, yt)), rel=1e-12)


def test_ldam_loss_errors():
    loss = MODELS.build(dict(type='LDAMLoss'))
    with pytest.raises(ClassCountsError, match='ClassCountsHook'):
        loss(torch.zeros(2, 5), torch.tensor([0, 1]))
    loss.set_class_counts(COUNTS)
    with pytest.raises(ValueError, match='soft targets'):
        loss(torch.zeros(2, 5), torch.zeros(2, 5))
    with pytest.raises(ValueError, match='loss.max_m'):
        MODELS.build(dict(type='LDAMLoss', max_m=-1))
    with pytest.raises(ClassCountsError, match='no training|empty|zero'):
        MODELS.build(dict(type='LDAMLoss', class_counts=[3, 0, 1]))
