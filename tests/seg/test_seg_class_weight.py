"""ADE20K class-weighted CE (configs/vmf_ade20k/cw-ce_*): ClassWeightHook gives mmseg's CrossEntropyLoss of the decode
and auxiliary heads the weights n_c^(-1/2) / sum * C from the training pixel counts (the tiny data set's own count file
as the reference, 1e-12) in a real 2-iteration run, and the full config builds."""
from __future__ import annotations

import os.path as osp

import numpy as np
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS

import ltplug  # noqa: F401
from ltplug.engine.class_counts import load_class_counts

CFG_DIR = osp.join(REPO, 'configs', 'vmf_ade20k')
DEMO = osp.join(CFG_DIR, 'cw-ce_upernet_r18-tiny_tiny-ade20k-64x64.py')
FULL = osp.join(CFG_DIR, 'cw-ce_upernet_r50_4xb4-160k_ade20k-512x512.py')


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
