"""ADE20K class-weighted CE (configs/vmf_ade20k/cw-ce_*): ClassWeightedCELoss equals PyTorch's weighted mean with
ignored pixels (F.cross_entropy, 1e-6 float32) where mmseg's stock loss raises; ClassWeightHook gives the decode and
auxiliary losses the weights n_c^(-1/2) / sum * C of the training pixel counts (the tiny data set's own count file as
the reference, 1e-12) in a real 2-iteration run; the full config builds."""
from __future__ import annotations

import os.path as osp

import mmseg
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.utils import digit_version
from mmseg.registry import MODELS

import ltplug  # noqa: F401
from ltplug.core.counts import load_class_counts

CFG_DIR = osp.join(REPO, 'configs', 'vmf_ade20k')
DEMO = osp.join(CFG_DIR, 'cw-ce_upernet_r18-tiny_tiny-ade20k-64x64.py')
FULL = osp.join(CFG_DIR, 'cw-ce_upernet_r50_4xb4-160k_ade20k-512x512.py')


def test_weighted_mean_skips_ignored_pixels():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 6, 7, generator=g)
    label = torch.randint(0, 5, (2, 6, 7), generator=g)
    label[0, :2] = 255  # ignored pixels, as reduce_zero_label produces
    w = [0.5, 1.0, 2.0, 0.25, 1.25]
    init_default_scope('mmseg')
    ours = MODELS.build(dict(type='ClassWeightedCELoss', class_weight=w, loss_weight=0.4))
    ref = 0.4 * F.cross_entropy(logits, label, weight=torch.tensor(w), ignore_index=255)
    torch.testing.assert_close(ours(logits, label, ignore_index=255), ref, rtol=1e-6, atol=0)
    stock = MODELS.build(dict(type='CrossEntropyLoss', class_weight=w))
    if digit_version(mmseg.__version__) < digit_version('1.3.0'):
        with pytest.raises(IndexError):  # open-mmlab/mmsegmentation issue 3734, the reason for the subclass
            stock(logits, label, ignore_index=255)
    else:  # onedl-mmsegmentation 1.4 fixed the crash: the stock loss then gives the same value
        torch.testing.assert_close(stock(logits, label, ignore_index=255), ref / 0.4, rtol=1e-6, atol=0)
    plain = MODELS.build(dict(type='ClassWeightedCELoss'))  # without weights: mmseg's loss unchanged
    torch.testing.assert_close(plain(logits, label, ignore_index=255),
                               MODELS.build(dict(type='CrossEntropyLoss'))(logits, label, ignore_index=255))


def test_pixel_count_weights_reach_every_ce_loss(tmp_path):
    data = tmp_path / 'data' / 'tiny_ade20k'
    run_tool(osp.join(REPO, 'tools/misc/make_tiny_ade20k.py'), str(data), '--train', '8', '--val', '2')
    cfg = Config.fromfile(DEMO)
    cfg.work_dir = str(tmp_path / 'work')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = str(data)
    assert cfg.custom_hooks[1] == dict(type='ClassWeightHook', weighting='inverse_power', power=0.5,
                                       counts_hook=dict(type='SegPixelCountsHook'))
    cache = str(tmp_path / 'cache')  # keep the pixel-count cache inside the test's directory
    cfg.custom_hooks[0]['cache_dir'] = cache
    cfg.custom_hooks[1]['counts_hook']['cache_dir'] = cache
    cfg.train_cfg.max_iters = 2
    cfg.train_cfg.val_interval = 100
    cfg.param_scheduler[0]['end'] = 2
    cfg.default_hooks.checkpoint.interval = 100
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    counts = load_class_counts(str(data / 'train_pixel_counts.txt')).astype(np.float64)
    expected = counts ** -0.5 / (counts ** -0.5).sum() * counts.size
    for loss in (runner.model.decode_head.loss_decode, runner.model.auxiliary_head.loss_decode):
        np.testing.assert_allclose(loss.class_weight, expected, rtol=1e-12)


def test_full_config_builds():
    cfg = Config.fromfile(FULL)
    assert cfg.train_cfg.max_iters == 160000 and cfg.model.decode_head.type == 'UPerHead'
    assert [h.type for h in cfg.custom_hooks] == ['SegPixelCountsHook', 'ClassWeightHook']
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    assert model.decode_head.loss_decode.class_weight is None  # set by the hook at the start of training
