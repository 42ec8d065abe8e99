"""End to end: the digits BCL config trains through tools/train.py (rand-rand views) and its checkpoint tests through
tools/test.py, as a user runs them."""
from __future__ import annotations

import os.path as osp
import re

import torch
from conftest import run_tool

CONFIG = 'configs/bcl/bcl_cifar-resnet20_digits-lt.py'


def test_train_rand_rand_then_test(tmp_path):
    work = str(tmp_path / 'work')
    # 8 epochs with the BCL cosine over 8 epochs (the config's 30 take about a minute more)
    proc = run_tool('tools/train.py', CONFIG, '--work-dir', work, '--cfg-options', 'model.backbone.depth=8',
                    'train_cfg.max_epochs=8',
                    'train_cfg.val_interval=8', 'param_scheduler.0.num_epochs=8', 'param_scheduler.0.end=8',
                    'train_dataloader.dataset.pipeline.0.cl_views=rand-rand')
    log = proc.stdout + proc.stderr
    dumped = open(osp.join(work, osp.basename(CONFIG))).read()  # the config the run really used
    assert dumped.count("cl_views='rand-rand'") == 1
    losses = [float(m) for m in re.findall(r'loss_bcl: ([0-9.]+)', log)]
    assert losses and all(v == v and v > 0 for v in losses)  # logged, finite
    ckpt = osp.join(work, 'epoch_8.pth')
    state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    for key in ('head.weight', 'head.loss_module.log_prior', 'contrast_head.0.weight', 'proto_head.3.weight'):
        assert key in state, key
    assert tuple(state['head.weight'].shape) == (64, 10)

    out = run_tool('tools/test.py', CONFIG, ckpt, '--work-dir', str(tmp_path / 'test'), '--cfg-options',
                   'model.backbone.depth=8')  # CifarResNet-8: the test's 8 epochs are tuned for it
    text = out.stdout + out.stderr
    top1 = float(re.findall(r'accuracy/top1: ([0-9.]+)', text)[-1])
    assert 'accuracy/few' in text
    assert top1 > 30.0  # 10 balanced test classes: chance is 10 % (about 50 % after these 8 epochs)

