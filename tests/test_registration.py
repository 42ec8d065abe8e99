"""`custom_imports=['ltplug']` in a stock config of each library: swap in an ltplug type, build, run forward."""
from __future__ import annotations

import importlib
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings


def stock_config(package: str, relpath: str) -> Config:
    """A config shipped inside the installed package (``<package>/.mim/configs``), as `mim` users load them."""
    root = osp.join(osp.dirname(importlib.import_module(package).__file__), '.mim', 'configs')
    cfg = Config.fromfile(osp.join(root, relpath))
    cfg.custom_imports = dict(imports=['ltplug'], allow_failed_imports=False)
    import_modules_from_strings(**cfg.custom_imports)  # what the Runner does with custom_imports
    return cfg


def test_import_registers_into_every_installed_library():
    import ltplug
    assert set(ltplug.AVAILABLE_ADAPTERS) == {'ltplug.cls', 'ltplug.seg', 'ltplug.det'}
    from mmengine.registry import DATA_SAMPLERS, HOOKS
    assert HOOKS.get('ClassCountsHook') is not None
    assert HOOKS.get('VMFCalibrationHook') is not None
    for sampler in ('ClassBalancedSampler', 'SquareRootSampler', 'ProgressivelyBalancedSampler'):
        assert DATA_SAMPLERS.get(sampler) is not None
    # mmengine-level types registered in the root registry are visible from every scope
    from mmdet.registry import HOOKS as DET_HOOKS
    from mmpretrain.registry import DATA_SAMPLERS as CLS_SAMPLERS
    from mmseg.registry import HOOKS as SEG_HOOKS
    assert CLS_SAMPLERS.get('ClassBalancedSampler') is DATA_SAMPLERS.get('ClassBalancedSampler')
    assert DET_HOOKS.get('VMFCalibrationHook') is SEG_HOOKS.get('VMFCalibrationHook')


def test_mmpretrain_stock_config_with_vmf_head():
    cfg = stock_config('mmpretrain', 'resnet/resnet18_8xb16_cifar10.py')
    init_default_scope(cfg.default_scope)
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    cfg.model.head = dict(type='VMFClsHead', num_classes=10, in_channels=512, class_counts=[500, 300, 200, 120, 80,
                                                                                        50, 30, 20, 10, 5])
    model = MODELS.build(cfg.model)
    model.init_weights()
    x = torch.rand(4, 3, 32, 32)
    samples = [DataSample().set_gt_label(i) for i in (0, 3, 5, 9)]
    losses = model(x, samples, mode='loss')
    assert torch.isfinite(losses['loss']) and losses['loss'] > 0
    model.eval()
    with torch.no_grad():
        preds = model(x, mode='predict')
    assert len(preds) == 4 and preds[0].pred_score.shape == (10,)


def test_mmseg_stock_config_with_vmf_decode_head():
    cfg = stock_config('mmseg', 'upernet/upernet_r50_4xb4-160k_ade20k-512x512.py')
    init_default_scope(cfg.default_scope)
    from mmseg.registry import MODELS
    cfg.model.pretrained = None
    cfg.model.decode_head = dict(cfg.model.decode_head, type='VMFDecodeHead', head_type='UPerHead',
                                 class_counts=list(range(1, 151)))
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    with torch.no_grad():
        logits = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert logits.shape[:2] == (1, 150) and torch.isfinite(logits).all()


def test_mmdet_stock_config_with_vmf_bbox_head():
    cfg = stock_config('mmdet', 'lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py')
    init_default_scope(cfg.default_scope)
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    cfg.model.backbone.init_cfg = None
    bbox_head = cfg.model.roi_head.bbox_head
    cfg.model.roi_head.bbox_head = dict(bbox_head, type='VMFShared2FCBBoxHead', class_counts=list(range(1, 1204)))
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    img = torch.rand(1, 3, 128, 128)
    sample = DetDataSample(metainfo=dict(img_shape=(128, 128), ori_shape=(128, 128), scale_factor=(1.0, 1.0)))
    with torch.no_grad():
        results = model(img, [sample], mode='predict')
    assert len(results) == 1 and hasattr(results[0], 'pred_instances')
