"""The ImageNet-LT BCL config's real pipeline and model wiring through the mmengine Runner, on a tiny ImageNet-format
list data set (CPU-sized: the encoder is shrunk and the crops are 32 px instead of 224)."""
from __future__ import annotations

import os.path as osp

import numpy as np
from conftest import REPO
from mmengine.config import Config
from mmengine.runner import Runner

import ltplug  # noqa: F401


def test_imagenet_lt_config_trains_on_a_list_file_dataset(tmp_path, tiny_list_dataset):
    """LoadImageFromFile, the three views (torchvision colour ops, timm RandAugment; rand-rand), PackInputs, the
    multi-view data preprocessor (BGR -> RGB, ImageNet mean / std) and one encoder pass per iteration."""
    data = tiny_list_dataset
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'bcl', 'bcl_resnext50_imagenet-lt.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.backbone = dict(type='CifarResNet', depth=8)
    cfg.model.head.update(num_classes=3, in_channels=64)
    cfg.model.update(hidden_dim=32, feat_dim=16)
    cfg.model.data_preprocessor = dict(cfg.data_preprocessor, num_classes=3)
    views = cfg.train_dataloader.dataset.pipeline[1]
    views['cl_views'] = 'rand-rand'
    for sub in (views['cls_pipeline'], views['sim_pipeline'], views['rand_pipeline']):
        for t in sub:
            if t['type'] == 'RandomResizedCrop':
                t['scale'] = 32
    cfg.train_dataloader.dataset.update(data_root=data['root'], ann_file='train.txt', data_prefix='images',
                                        num_classes=3)
    cfg.train_dataloader.update(batch_size=7, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, save_best=None)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    seen = []
    runner.model.backbone.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape)))
    runner.train()
    assert seen == [(21, 3, 32, 32)] * 3  # 21 images, batch 7: 3 iterations, one encoder pass over 3 x 7 views each
    counts = np.exp(runner.model.head.loss_module.log_prior.numpy()) * sum(data['counts'])
    np.testing.assert_allclose(counts, data['counts'], rtol=1e-5)
