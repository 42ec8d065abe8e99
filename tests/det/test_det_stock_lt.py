"""mmdet's stock long-tail baselines next to vMF on LVIS: EQLV2Loss exists in mmdet 3.3.0; SyncEQLV2Loss sums the
gradient statistics over 2 gloo ranks exactly as a float64 reference of the official update on the union of the batches
(tolerance 1e-6, float32 sums); the stock port does not; the tiny-LVIS Seesaw + NormedLinear and EQLv2 configs train and
are evaluated by LVISMetric through tools/train.py; the full configs build."""
from __future__ import annotations

import math
import os.path as osp
import re

import mmdet
import pytest
import torch
from _dist import run_distributed
from conftest import REPO, run_tool
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import ltplug  # noqa: F401

CFG_DIR = osp.join(REPO, 'configs', 'vmf_lvis')
AP_KEYS = [f'lvis/{t}_{k}' for t in ('bbox', 'segm') for k in ('AP', 'APr', 'APc', 'APf')]
C = 4  # foreground classes; the loss sees C + 1 channels (the last one background)


def _batch(rank: int, step: int):
    g = torch.Generator().manual_seed(100 * rank + step)
    return torch.randn(6, C + 1, generator=g) * 2, torch.randint(0, C + 1, (6,), generator=g)


def _reference_stats(world_size: int, steps: int):
    """Official EQLv2 update, float64, one element at a time: weights from the statistics before the step, then the
    |gradient| of every rank's batch summed into the statistics (all_reduce)."""
    pos = [0.0] * C
    neg = [0.0] * C
    pos_neg = [100.0] * C  # the port's initial ratio
    for step in range(steps):
        neg_w = [1 / (1 + math.exp(-12 * (r - 0.8))) for r in pos_neg] + [1.0]
        pos_w = [1 + 4.0 * (1 - w) for w in neg_w]
        for rank in range(world_size):
            pred, label = _batch(rank, step)
            for i in range(pred.shape[0]):
                for c in range(C):  # the background channel is not collected
                    p = 1 / (1 + math.exp(-float(pred[i, c])))
                    if c == int(label[i]):
                        pos[c] += abs(p - 1) * pos_w[c]
                    else:
                        neg[c] += p * neg_w[c]
        pos_neg = [pos[c] / (neg[c] + 1e-10) for c in range(C)]
    return pos, neg


def _ddp_stats(rank: int, world_size: int, steps: int):
    init_default_scope('mmdet')
    from mmdet.registry import MODELS as DET_MODELS

    import ltplug  # noqa: F401,F811  (registers SyncEQLV2Loss in the spawned process)
    out = {}
    for name in ('SyncEQLV2Loss', 'EQLV2Loss'):
        loss = DET_MODELS.build(dict(type=name, num_classes=C))
        for step in range(steps):
            pred, label = _batch(rank, step)
            loss(pred, label)
        out[name] = (loss.pos_grad.clone(), loss.neg_grad.clone())
    return out


def test_eqlv2_is_in_mmdet_330():
    """The stock baselines exist from mmdet 3.3.0 on (the pinned release; the fork's 3.5 keeps them)."""
    from mmdet.models.losses import EQLV2Loss, SeesawLoss  # noqa: F401
    from mmengine.utils import digit_version

    assert digit_version(mmdet.__version__) >= digit_version('3.3.0')


def test_sync_eqlv2_sums_statistics_over_ranks():
    steps = 3
    results = run_distributed(_ddp_stats, 2, steps)
    pos, neg = _reference_stats(2, steps)
    for rank in range(2):
        torch.testing.assert_close(results[rank]['SyncEQLV2Loss'][0].double(), torch.tensor(pos, dtype=torch.float64),
                                   rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(results[rank]['SyncEQLV2Loss'][1].double(), torch.tensor(neg, dtype=torch.float64),
                                   rtol=1e-6, atol=1e-6)
    # mmdet's port keeps per-rank statistics: the two ranks disagree
    assert not torch.allclose(results[0]['EQLV2Loss'][0], results[1]['EQLV2Loss'][0])


def test_sync_eqlv2_single_process_equals_the_port_and_wires_the_head():
    init_default_scope('mmdet')
    sync = MODELS.build(dict(type='SyncEQLV2Loss', num_classes=C))
    port = MODELS.build(dict(type='EQLV2Loss', num_classes=C))
    for step in range(3):
        pred, label = _batch(0, step)
        torch.testing.assert_close(sync(pred, label), port(pred, label), rtol=0, atol=0)
    torch.testing.assert_close(sync.pos_neg, port.pos_neg, rtol=0, atol=0)
    head = MODELS.build(dict(type='Shared2FCBBoxHead', in_channels=8, fc_out_channels=16, roi_feat_size=2,
                             num_classes=C, loss_cls=dict(type='SyncEQLV2Loss', num_classes=C)))
    assert head.custom_cls_channels and head.custom_activation and head.fc_cls.out_features == C + 1
    with pytest.raises(ValueError, match='loss_cls.num_classes'):
        MODELS.build(dict(type='Shared2FCBBoxHead', in_channels=8, fc_out_channels=16, roi_feat_size=2,
                          num_classes=C + 1, loss_cls=dict(type='SyncEQLV2Loss', num_classes=C)))


@pytest.fixture(scope='module')
def tiny_lvis(tmp_path_factory):
    cwd = tmp_path_factory.mktemp('det_stock')
    run_tool(osp.join(REPO, 'tools/misc/make_tiny_lvis.py'), str(cwd / 'data' / 'tiny_lvis'), '--val', '8',
             '--val-per-class', '1')
    return str(cwd)


@pytest.mark.parametrize('name, loss', [('seesaw', 'loss_cls_objectness'), ('eqlv2', 'loss_cls')])
def test_tiny_lvis_trains_and_evaluates(tiny_lvis, name, loss):
    config = osp.join(CFG_DIR, f'{name}_mask-rcnn_r18-tiny_fpn_tiny-lvis.py')
    work = osp.join(tiny_lvis, f'work_{name}')
    proc = run_tool(osp.join(REPO, 'tools/train.py'), config, '--work-dir', work, '--cfg-options',
                    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1',
                    # one epoch on the tiny set: a fixed seed, and every box kept, so that the evaluation always has
                    # detections to score (with a random seed the stock head sometimes scores every box under 1e-4)
                    'randomness.seed=0', 'model.test_cfg.rcnn.score_thr=0.0', cwd=tiny_lvis)
    log = proc.stdout + proc.stderr
    assert re.search(rf'{loss}: [\d.]+', log)
    for key in AP_KEYS:
        assert re.search(rf'{key}: -?[\d.]+', log), key
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


@pytest.mark.parametrize('name, loss_type', [('seesaw', 'SeesawLoss'), ('eqlv2', 'SyncEQLV2Loss')])
def test_full_stock_configs_build(name, loss_type):
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{name}_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'))
    assert cfg.train_dataloader.dataset.type == 'ClassBalancedDataset'
    assert cfg.train_dataloader.dataset.oversample_thr == 1e-3 and cfg.train_cfg.max_epochs == 12
    init_default_scope('mmdet')
    head = MODELS.build(cfg.model).roi_head.bbox_head
    assert type(head.loss_cls).__name__ == loss_type and head.num_classes == 1203
    if name == 'seesaw':
        temperature = getattr(head.fc_cls, 'tempearture', getattr(head.fc_cls, 'temperature', None))  # 3.3 / fork
        assert type(head.fc_cls).__name__ == 'NormedLinear' and temperature == 20
        assert head.fc_cls.out_features == 1203 + 2  # Seesaw's custom channels: C + objectness (2)
    else:
        assert head.fc_cls.out_features == 1203 + 1


def test_eqlv2_tiny_lvis_trains_under_ddp(tiny_lvis):
    """tools/dist_train.sh, 2 gloo ranks: the all_reduce inside the loss runs in step on both ranks (no deadlock) and
    the saved statistics are those of the synchronised loss."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    work = osp.join(tiny_lvis, 'work_eqlv2_ddp')
    env = dict(os.environ, PORT=str(port), OMP_NUM_THREADS='1',
               PATH=osp.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))
    proc = subprocess.run(['bash', osp.join(REPO, 'tools', 'dist_train.sh'),
                           osp.join(CFG_DIR, 'eqlv2_mask-rcnn_r18-tiny_fpn_tiny-lvis.py'), '2', '--work-dir', work,
                           '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                           'default_hooks.checkpoint.interval=1'],
                          cwd=tiny_lvis, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-5000:]
    state = torch.load(osp.join(work, 'epoch_1.pth'), map_location='cpu', weights_only=False)['state_dict']
    pos = state['roi_head.bbox_head.loss_cls.pos_grad']
    assert pos.shape == (12,) and float(pos.sum()) > 0
