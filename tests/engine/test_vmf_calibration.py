"""VMFCalibrationHook through mmengine's Runner: calibrated val / test, trained state restored, files untouched."""
from __future__ import annotations

import copy
import hashlib
import os.path as osp
import pickle

import pytest
import torch
import torch.nn.functional as F
from conftest import digits_run_cfg
from mmengine.config import Config
from mmengine.runner import Runner

import ltplug  # noqa: F401
from ltplug.core.vmf import OP_SOURCES, calibrated_kappa
from ltplug.engine.hooks import VMFCalibrationHook, find_vmf_classifiers

ALPHA = 0.3


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Tiny models: one intra-op thread (two OpenMP threads on a busy 2-core machine are ~15x slower)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def vmf_digits_cfg(work_dir: str, max_epochs: int = 2, alpha: float = ALPHA, aux_loss: str = 'icd') -> Config:
    """A tiny vMF run on the bundled long-tailed digits (CifarResNet-8, VMFClsHead), CPU, a few seconds."""
    cfg = digits_run_cfg(work_dir, dict(type='VMFClsHead', num_classes=10, in_channels=64, aux_loss=aux_loss),
                         evaluator=dict(type='Accuracy', topk=(1,)), max_epochs=max_epochs, batch_size=32,
                         custom_hooks=[dict(type='ClassCountsHook'), dict(type='VMFCalibrationHook', alpha=alpha)])
    cfg.optim_wrapper.paramwise_cfg = dict(custom_keys={'head.vmf.kappa': dict(decay_mult=0.0)})
    cfg.default_hooks = dict(logger=dict(type='LoggerHook', interval=5),
                             checkpoint=dict(type='CheckpointHook', interval=1, save_best='accuracy/top1'))
    return cfg


def sha(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('vmf_hook'))
    runner = Runner.from_cfg(vmf_digits_cfg(work))
    runner.train()
    return work, runner


def test_training_state_is_restored_after_each_validation(trained):
    work, runner = trained
    (_, vmf), = find_vmf_classifiers(runner.model)
    # validation ran calibrated twice, yet the model and every checkpoint are uncalibrated
    assert not vmf.calibrated and float(vmf.calib_alpha) == 1.0
    assert int(vmf.op_source) == OP_SOURCES.index('icd')
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        state = torch.load(osp.join(work, name), map_location='cpu')['state_dict']
        assert float(state['head.vmf.calib_alpha']) == 1.0
        assert int(state['head.vmf.op_source']) == OP_SOURCES.index('icd')
    best = [f for f in __import__('os').listdir(work) if f.startswith('best_')]
    assert best and float(torch.load(osp.join(work, best[0]), map_location='cpu')['state_dict']
                          ['head.vmf.calib_alpha']) == 1.0


def run_test(work: str, ckpt: str, alpha: float, tag: str):
    cfg = vmf_digits_cfg(osp.join(work, tag), alpha=alpha)
    out = osp.join(work, f'{tag}.pkl')
    cfg.test_evaluator = [dict(type='Accuracy', topk=(1,)), dict(type='DumpResults', out_file_path=out)]
    cfg.load_from = ckpt
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    return runner, metrics, torch.stack([p['pred_score'] for p in preds]), torch.cat([p['gt_label'] for p in preds])


def test_hook_calibrates_test_exactly_and_leaves_checkpoint(trained):
    work, train_runner = trained
    ckpt = osp.join(work, 'epoch_2.pth')
    digest = sha(ckpt)
    runner, _, scores, labels = run_test(work, ckpt, ALPHA, 'test_calibrated')
    _, _, scores_off, _ = run_test(work, ckpt, 1.0, 'test_off')
    assert sha(ckpt) == digest  # the checkpoint on disk is untouched
    (_, vmf), = find_vmf_classifiers(runner.model)
    assert not vmf.calibrated  # restored after the test epoch

    # independent expectation from the checkpoint: features of the test set, then core calibrated_kappa
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    kappa = state['head.vmf.kappa'].clamp(min=1.0)
    kappa_cal = calibrated_kappa(kappa.double(), state['head.vmf.op'].double(), ALPHA).float()
    mu = F.normalize(state['head.vmf.weight'], dim=1)
    model = copy.deepcopy(runner.model).eval()
    feats = []
    model.head.vmf.register_forward_pre_hook(lambda m, inp: feats.append(inp[0]))
    with torch.no_grad():
        for batch in runner.test_dataloader:
            model.test_step(batch)
    cos = F.normalize(torch.cat(feats), dim=1) @ mu.t()
    expected = F.softmax(cos * kappa_cal + state['head.vmf.bias'], dim=1)
    expected_off = F.softmax(cos * kappa + state['head.vmf.bias'], dim=1)
    assert torch.allclose(scores, expected, atol=1e-6)
    assert torch.allclose(scores_off, expected_off, atol=1e-6)
    assert not torch.allclose(scores, scores_off, atol=1e-4)  # calibration did change the predictions
    assert labels.numel() == scores.shape[0]


@pytest.mark.parametrize('alpha', [1.5, -0.1, float('nan')])
def test_alpha_outside_unit_interval_is_refused(alpha):
    with pytest.raises(ValueError, match=r'alpha must be in \[0, 1\]'):
        VMFCalibrationHook(alpha=alpha)


def test_hook_needs_a_vmf_model(tmp_path):
    cfg = vmf_digits_cfg(str(tmp_path), max_epochs=1)
    cfg.model.head = dict(type='LinearClsHead', num_classes=10, in_channels=64)
    cfg.custom_hooks = [dict(type='VMFCalibrationHook', alpha=0.5)]
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='no VMFClassifier'):
        runner.test()
