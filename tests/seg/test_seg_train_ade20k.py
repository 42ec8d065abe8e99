"""End to end on generated ADE20K data: tools/train.py and tools/test.py with the CPU demo config, then the trained
UPerNet's calibrated predictions checked against kappa' cos + b (float64 reference, 1e-5); the full configs build."""
from __future__ import annotations

import copy
import os.path as osp
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DATASETS, init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS

import ltplug  # noqa: F401
from ltplug.core.counts import load_class_counts
from ltplug.engine.hooks import find_vmf_classifiers
from ltplug.seg.vmf_decode_head import VMFPixelClassifier

CFG_DIR = osp.join(REPO, 'configs', 'vmf_ade20k')
DEMO = osp.join(CFG_DIR, 'vmf-icd_upernet_r18-tiny_tiny-ade20k-64x64.py')
ITERS = 4


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Generate the data under <tmp>/data/tiny_ade20k (the config's relative data_root) and train ITERS iterations."""
    cwd = tmp_path_factory.mktemp('seg_run')
    run_tool(osp.join(REPO, 'tools/misc/make_tiny_ade20k.py'), str(cwd / 'data' / 'tiny_ade20k'), '--train', '16',
             '--val', '4')
    env = dict(LTPLUG_CACHE=str(cwd / 'cache'))
    work = str(cwd / 'work')
    proc = run_tool(osp.join(REPO, 'tools/train.py'), DEMO, '--work-dir', work, '--cfg-options',
                    f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
                    f'default_hooks.checkpoint.interval={ITERS}', cwd=str(cwd), env=env)
    return dict(cwd=str(cwd), work=work, env=env, log=proc.stdout + proc.stderr,
                ckpt=osp.join(work, f'iter_{ITERS}.pth'))


def test_train_writes_counts_checkpoint_and_lt_metrics(trained):
    assert osp.isfile(trained['ckpt'])
    used = load_class_counts(osp.join(trained['work'], 'pixel_counts.txt'))
    assert np.array_equal(used, load_class_counts(osp.join(trained['cwd'], 'data/tiny_ade20k/train_pixel_counts.txt')))
    assert 'decode.loss_icd' in trained['log'] and 'decode.aux_weight' in trained['log']
    assert re.search(r'mIoU: [\d.]+\s+mAcc: [\d.]+\s+mIoU_head: [\d.]+\s+mIoU_body: [\d.]+\s+mIoU_tail: [\d.]+',
                     trained['log'])
    ckpt = torch.load(trained['ckpt'], map_location='cpu', weights_only=False)
    state = ckpt['state_dict']
    # everything the test needs is in the checkpoint: counts, b, op (from the ICD step), no calibration baked in
    prefix = 'decode_head.head.conv_seg.'
    assert torch.equal(state[prefix + 'class_counts'], torch.as_tensor(used))
    assert int(state[prefix + 'op_source']) == 2 and float(state[prefix + 'calib_alpha']) == 1


def test_tools_test_with_calibration(trained):
    """tools/test.py from the checkpoint alone (validation during training already ran the uncalibrated model)."""
    calibrated = osp.join(trained['cwd'], 'calibrated.py')
    with open(calibrated, 'w') as f:
        f.write(f"_base_ = {DEMO!r}\ncustom_hooks = [dict(type='SegPixelCountsHook'), "
                "dict(type='VMFCalibrationHook', alpha=0.5)]\n")
    out = run_tool(osp.join(REPO, 'tools/test.py'), calibrated, trained['ckpt'], '--work-dir',
                   osp.join(trained['cwd'], 'test_a05'), cwd=trained['cwd'], env=trained['env'])
    log = out.stdout + out.stderr
    assert 'VMFCalibrationHook: test with calibrated kappa (alpha=0.5) in decode_head.head.conv_seg' in log
    assert re.search(r'mIoU: [\d.]+\s+mAcc: [\d.]+\s+mIoU_head: [\d.]+\s+mIoU_body: [\d.]+\s+mIoU_tail: [\d.]+', log)
    assert 'calibrated kappa' not in trained['log']  # alpha = 1 (the default) is off


def test_calibrated_predictions_of_the_trained_model_are_exact(trained):
    cfg = Config.fromfile(DEMO)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, trained['ckpt'], map_location='cpu', logger='silent')
    model.eval()
    [(name, clf)] = find_vmf_classifiers(model)
    assert name == 'decode_head.head.conv_seg' and isinstance(clf, VMFPixelClassifier)
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.data_root = osp.join(trained['cwd'], ds_cfg.data_root)
    dataset = DATASETS.build(ds_cfg)
    batch = model.data_preprocessor(pseudo_collate([dataset[i] for i in range(3)]), False)
    store = {}
    clf.register_forward_hook(lambda _m, a, o: store.update(x=a[0].detach(), y=o.detach()))

    kappa = clf.kappa.detach().double().clamp(min=1.0)
    op = clf.op.double()
    bias = clf.bias.double().clone()
    results = {}
    for alpha in (1.0, 0.5):
        clf.calibrate(alpha)
        with torch.no_grad():
            # predict() fills the data samples it is given: a fresh copy per alpha
            results[alpha] = model.predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
        if alpha == 1.0:
            k = kappa
        else:  # kappa' = kappa^a op'^(1-a), op' = op min-max rescaled into [min kappa, max kappa]
            op_s = (op - op.min()) / (op.max() - op.min()) * (kappa.max() - kappa.min()) + kappa.min()
            k = kappa ** alpha * op_s ** (1 - alpha)
        x = store['x'].double().movedim(1, -1)
        w = clf.weight.detach().double()
        cos = (x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)) @ (w / w.norm(dim=1, keepdim=True)).t()
        ref = (cos * k + bias).movedim(-1, 1)  # b is the buffer stored in training, never recomputed from kappa'
        torch.testing.assert_close(store['y'].double(), ref, atol=1e-5, rtol=0)
        # the segmentation output is the upsampled logits and their argmax
        up = F.interpolate(ref, size=batch['inputs'].shape[2:], mode='bilinear', align_corners=False)
        logits = torch.stack([r.seg_logits.data for r in results[alpha]]).double()
        torch.testing.assert_close(logits, up, atol=1e-4, rtol=0)
        pred = torch.stack([r.pred_sem_seg.data[0] for r in results[alpha]])
        margin = up.topk(2, dim=1).values
        clear = (margin[:, 0] - margin[:, 1]) > 1e-4  # pixels whose argmax is not a numerical tie
        assert torch.equal(pred[clear], up.argmax(dim=1)[clear])
    # calibration moved kappa (only slightly after 4 iterations, so the labels may not change) and the logits with it
    assert not torch.equal(clf.kappa_calibrated.double(), kappa)
    diff = max(float((a.seg_logits.data - b.seg_logits.data).abs().max()) for a, b in zip(results[0.5], results[1.0]))
    assert diff > 0


@pytest.mark.parametrize('name', ['vmf-icd_upernet_r50_4xb4-160k_ade20k-512x512.py',
                                  'vmf-icd_deeplabv3plus_r50-d8_4xb4-160k_ade20k-512x512.py'])
def test_full_ade20k_configs_build(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    assert cfg.default_scope == 'mmseg' and cfg.train_cfg.max_iters == 160000
    assert cfg.train_dataloader.dataset.type == 'ADE20KDataset' and cfg.train_dataloader.batch_size == 4
    assert cfg.param_scheduler[0].type == 'PolyLR' and cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.val_evaluator.type == 'LongTailIoUMetric'
    assert [h.type for h in cfg.custom_hooks] == ['SegPixelCountsHook']
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    head = model.decode_head
    assert isinstance(head.vmf, VMFPixelClassifier) and head.head.conv_seg is head.vmf
    assert head.vmf.num_classes == 150 and head.vmf.in_features == 512
    assert type(head.head).__name__ == cfg.model.decode_head.head_type
    assert model.auxiliary_head.conv_seg.__class__.__name__ == 'Conv2d'  # deep supervision stays stock
