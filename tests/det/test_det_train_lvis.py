"""End to end on generated LVIS v1 data: tools/train.py and tools/test.py (mmdet's LVISMetric: APr / APc / APf) with the
CPU demo config, the trained Mask R-CNN's calibrated bbox logits against kappa' cos + b (float64, 1e-5), a malformed
annotation file in a run, and the full LVIS configs built."""
from __future__ import annotations

import copy
import json
import os.path as osp
import re
import shutil

import mmdet
import pytest
import torch
from conftest import REPO, run_tool
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DATASETS, init_default_scope
from mmengine.runner import Runner, load_checkpoint

import ltplug  # noqa: F401
from ltplug.det.lvis_format import LVISFormatError
from ltplug.det.tau_norm import TauNormBBoxClassifier
from ltplug.det.vmf_bbox_head import VMFBBoxClassifier
from ltplug.engine.hooks import find_vmf_classifiers

CFG_DIR = osp.join(REPO, 'configs', 'vmf_lvis')
DEMO = osp.join(CFG_DIR, 'vmf-icd_mask-rcnn_r18-tiny_fpn_tiny-lvis.py')
FULL = osp.join(CFG_DIR, 'vmf-icd_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py')
TAU = osp.join(CFG_DIR, 'taunorm_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py')
AP_KEYS = [f'lvis/{t}_{k}' for t in ('bbox', 'segm') for k in ('AP', 'APr', 'APc', 'APf')]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Generate the data under <tmp>/data/tiny_lvis (the config's relative data_root) and train one epoch."""
    cwd = tmp_path_factory.mktemp('det_run')
    run_tool(osp.join(REPO, 'tools/misc/make_tiny_lvis.py'), str(cwd / 'data' / 'tiny_lvis'), '--val', '8',
             '--val-per-class', '1')
    work = str(cwd / 'work')
    proc = run_tool(osp.join(REPO, 'tools/train.py'), DEMO, '--work-dir', work, '--cfg-options',
                    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1',
                    'train_dataloader.dataset.oversample_thr=0.001', cwd=str(cwd))
    return dict(cwd=str(cwd), work=work, log=proc.stdout + proc.stderr, ckpt=osp.join(work, 'epoch_1.pth'))


def test_train_one_epoch_with_lvis_metric(trained):
    log = trained['log']
    assert osp.isfile(trained['ckpt'])
    assert re.search(r'ClassCountsHook: 12 classes, \d+ training samples, max \d+, min 1', log)
    assert 'loss_icd' in log and 'aux_weight: 0.2000' in log  # epoch 0 of 1: lambda_0 = 0.2
    for key in AP_KEYS:
        assert re.search(rf'{key}: -?[\d.]+', log), key
    state = torch.load(trained['ckpt'], map_location='cpu', weights_only=False)['state_dict']
    with open(osp.join(trained['cwd'], 'data/tiny_lvis/annotations/lvis_v1_train.json')) as f:
        inst = [c['instance_count'] for c in json.load(f)['categories']]
    assert state['roi_head.bbox_head.fc_cls.vmf.class_counts'].tolist() == inst
    assert state['roi_head.bbox_head.fc_cls.vmf.weight'].shape == (12, 64)
    assert state['roi_head.bbox_head.fc_cls.bg.weight'].shape == (1, 64)


def test_tools_test_calibrated(trained):
    calibrated = osp.join(trained['cwd'], 'calibrated.py')
    with open(calibrated, 'w') as f:
        f.write(f"_base_ = {DEMO!r}\ncustom_hooks = [dict(type='DetClassCountsHook'), "
                "dict(type='VMFCalibrationHook', alpha=0.5)]\n")
    out = run_tool(osp.join(REPO, 'tools/test.py'), calibrated, trained['ckpt'], '--work-dir',
                   osp.join(trained['cwd'], 'test'), cwd=trained['cwd'])
    log = out.stdout + out.stderr
    assert 'VMFCalibrationHook: test with calibrated kappa (alpha=0.5) in roi_head.bbox_head.fc_cls.vmf' in log
    # a test run does not read the training annotations: the head's counts come from the checkpoint
    assert 'DetClassCountsHook: test run, class counts taken from the checkpoint' in log
    for key in AP_KEYS:
        assert re.search(rf'{key}: -?[\d.]+', log), key


def test_calibrated_bbox_logits_of_the_trained_model_are_exact(trained):
    cfg = Config.fromfile(DEMO)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, trained['ckpt'], map_location='cpu', logger='silent')
    model.eval()
    [(name, vmf)] = find_vmf_classifiers(model)
    clf = model.roi_head.bbox_head.fc_cls
    assert name == 'roi_head.bbox_head.fc_cls.vmf' and isinstance(clf, VMFBBoxClassifier) and vmf is clf.vmf
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.data_root = osp.join(trained['cwd'], ds_cfg.data_root)
    batch = model.data_preprocessor(pseudo_collate([DATASETS.build(ds_cfg)[i] for i in range(2)]), False)
    store = {}
    clf.register_forward_hook(lambda _m, a, o: store.update(x=a[0].detach(), y=o.detach()))
    kappa = vmf.kappa.detach().double().clamp(min=1.0)
    op, bias = vmf.op.double(), vmf.bias.double().clone()
    assert int(vmf.op_source) == 2  # ICD statistics of the last training step
    outputs = {}
    for alpha in (1.0, 0.5):
        vmf.calibrate(alpha)
        with torch.no_grad():
            model.predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
        x, y = store['x'].double(), store['y'].double()
        k = kappa
        if alpha != 1.0:
            op_s = (op - op.min()) / (op.max() - op.min()) * (kappa.max() - kappa.min()) + kappa.min()
            k = kappa ** alpha * op_s ** (1 - alpha)
        w = vmf.weight.detach().double()
        fg = (x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)) @ (w / w.norm(dim=1, keepdim=True)).t() * k + bias
        bg = x @ clf.bg.weight.detach().double().t() + clf.bg.bias.detach().double()
        torch.testing.assert_close(y, torch.cat([fg, bg], 1), atol=1e-5, rtol=0)
        outputs[alpha] = y
    assert not torch.allclose(outputs[1.0][:, :-1], outputs[0.5][:, :-1], atol=0, rtol=0)
    torch.testing.assert_close(outputs[1.0][:, -1], outputs[0.5][:, -1], atol=0, rtol=0)


def test_malformed_annotation_file_fails_clearly_in_a_run(trained, tmp_path):
    """The runner the tools build (in-process here, to skip a second start-up) stops with the file and entry named."""
    shutil.copytree(osp.join(trained['cwd'], 'data'), tmp_path / 'data')
    path = tmp_path / 'data/tiny_lvis/annotations/lvis_v1_train.json'
    data = json.loads(path.read_text())
    data['annotations'][3]['category_id'] = 4242
    path.write_text(json.dumps(data))
    cfg = Config.fromfile(DEMO)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.dataset.dataset.data_root = str(tmp_path / 'data/tiny_lvis')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(LVISFormatError, match=r'lvis_v1_train.json: annotations\[3\] \(id 4\): category_id 4242 is '
                                              r'not the id of any entry in "categories"'):
        runner.train()


def test_full_lvis_configs_build():
    cfg = Config.fromfile(FULL)
    assert cfg.default_scope == 'mmdet'
    train_ds = cfg.train_dataloader.dataset
    assert train_ds.type == 'ClassBalancedDataset' and train_ds.oversample_thr == 1e-3  # repeat-factor sampling
    assert train_ds.dataset.type == 'CheckedLVISV1Dataset'
    assert train_ds.dataset.ann_file == 'annotations/lvis_v1_train.json'
    assert cfg.val_evaluator.type == 'LVISMetric' and cfg.val_evaluator.metric == ['bbox', 'segm']
    assert cfg.model.test_cfg.rcnn.max_per_img == 300 and cfg.train_cfg.max_epochs == 12
    assert [h.type for h in cfg.custom_hooks] == ['DetClassCountsHook']
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    head = model.roi_head.bbox_head
    assert type(head).__name__ == 'VMFShared2FCBBoxHead' and isinstance(head.fc_cls, VMFBBoxClassifier)
    assert head.fc_cls.vmf.num_classes == 1203 and head.fc_cls.vmf.in_features == 1024
    assert model.roi_head.mask_head.num_classes == 1203

    tau_cfg = Config.fromfile(TAU)
    tau_model = MODELS.build(tau_cfg.model)
    assert isinstance(tau_model.roi_head.bbox_head.fc_cls, TauNormBBoxClassifier)
    stock_cfg = osp.join(osp.dirname(mmdet.__file__), '.mim/configs/lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py')
    stock = MODELS.build(Config.fromfile(stock_cfg).model)
    assert set(tau_model.state_dict()) == set(stock.state_dict())  # stock checkpoints load into the tau-norm model
