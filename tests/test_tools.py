"""End-to-end tests of tools/train.py and tools/test.py (real mmengine Runner, mmpretrain, generated list-file data)."""
from __future__ import annotations

import glob
import os
import os.path as osp
import pickle
import socket

import pytest
import torch
from conftest import REPO, run_tool


def write_cls_config(path: str, data: dict, max_epochs: int = 2, extra: str = '') -> str:
    """A stock mmpretrain ImageClassifier config on the tiny list-file data set, with one ltplug type (the backbone)."""
    root = data['root']
    n = len(data['classes'])

    def ds(ann: str) -> str:
        return (f"dict(type='CustomDataset', data_root={root!r}, ann_file={ann!r}, data_prefix='images', "
                f"classes={data['classes']!r}, pipeline=pipeline)")
    text = f"""
default_scope = 'mmpretrain'
custom_imports = dict(imports=['ltplug'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=8),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes={n}, in_channels=64, loss=dict(type='CrossEntropyLoss')),
    data_preprocessor=dict(num_classes={n}, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True))
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(batch_size=4, num_workers=0, dataset={ds('train.txt')},
                        sampler=dict(type='DefaultSampler', shuffle=True), drop_last=True)
val_dataloader = dict(batch_size=8, num_workers=0, dataset={ds('test.txt')},
                      sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max={max_epochs}, by_epoch=True)]
train_cfg = dict(by_epoch=True, max_epochs={max_epochs}, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook', interval=1))
env_cfg = dict(dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0)
{extra}
"""
    with open(path, 'w') as f:
        f.write(text)
    return path


@pytest.fixture
def cls_config(tmp_path, tiny_list_dataset):
    return write_cls_config(str(tmp_path / 'tiny_cls.py'), tiny_list_dataset)


def test_train_then_test(tmp_path, cls_config):
    work = str(tmp_path / 'work')
    run_tool('tools/train.py', cls_config, '--work-dir', work)
    ckpts = sorted(glob.glob(osp.join(work, 'epoch_*.pth')))
    assert [osp.basename(c) for c in ckpts] == ['epoch_1.pth', 'epoch_2.pth']
    # the checkpoint loads under torch's weights_only=True default (ltplug.compat allow-lists mmengine's metadata)
    import ltplug  # noqa: F401
    ckpt = torch.load(ckpts[-1], map_location='cpu')
    assert 'state_dict' in ckpt and 'message_hub' in ckpt
    out = str(tmp_path / 'preds.pkl')
    proc = run_tool('tools/test.py', cls_config, ckpts[-1], '--work-dir', work, '--out', out)
    assert 'accuracy/top1' in proc.stdout + proc.stderr
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 12  # 4 test images x 3 classes
    assert all('pred_score' in p for p in preds)
    # results are never overwritten
    again = run_tool('tools/test.py', cls_config, ckpts[-1], '--work-dir', work, '--out', out, check=False)
    assert again.returncode != 0 and 'exists' in again.stderr


def test_resume_continues_training(tmp_path, cls_config, tiny_list_dataset):
    work = str(tmp_path / 'work')
    run_tool('tools/train.py', cls_config, '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=1')
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    # refusing to train over an earlier run's checkpoints
    refused = run_tool('tools/train.py', cls_config, '--work-dir', work, check=False)
    assert refused.returncode != 0 and '--resume' in refused.stderr
    proc = run_tool('tools/train.py', cls_config, '--work-dir', work, '--resume',
                    '--cfg-options', 'train_cfg.max_epochs=2')
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 1' in log.lower() or 'Load checkpoint from' in log
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    ckpt = torch.load(osp.join(work, 'epoch_2.pth'), map_location='cpu')
    assert ckpt['meta']['epoch'] == 2
    # load_from a checkpoint (fine-tuning path) also works on this torch
    run_tool('tools/train.py', cls_config, '--work-dir', str(tmp_path / 'ft'),
             '--cfg-options', f'load_from={osp.join(work, "epoch_2.pth")}', 'train_cfg.max_epochs=1')


def test_amp_and_cfg_options(tmp_path, cls_config):
    work = str(tmp_path / 'work')
    if not torch.cuda.is_available():  # mmengine's AmpOptimWrapper refuses CPUs: the tool must say so plainly
        proc = run_tool('tools/train.py', cls_config, '--work-dir', work, '--amp', check=False)
        assert proc.returncode != 0 and '--amp needs a GPU' in proc.stderr and 'Traceback' not in proc.stderr
        proc = run_tool('tools/train.py', cls_config, '--work-dir', work,
                        '--cfg-options', 'train_cfg.max_epochs=1', 'optim_wrapper.optimizer.lr=0.01')
        assert osp.isfile(osp.join(work, 'epoch_1.pth'))
        cfg_dump = open(glob.glob(osp.join(work, '*', 'vis_data', 'config.py'))[0]).read()
        assert 'lr=0.01' in cfg_dump and 'max_epochs=1' in cfg_dump
        return
    proc = run_tool('tools/train.py', cls_config, '--work-dir', work, '--amp',
                    '--cfg-options', 'train_cfg.max_epochs=1', 'optim_wrapper.optimizer.lr=0.01')
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert 'AmpOptimWrapper' in open(glob.glob(osp.join(work, '*', 'vis_data', 'config.py'))[0]).read() \
        or 'AmpOptimWrapper' in proc.stdout + proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_dist_train_two_processes_gloo(tmp_path, cls_config):
    """tools/dist_train.sh launches 2 ranks with torchrun; on a CPU machine they use gloo."""
    import subprocess
    import sys
    work = str(tmp_path / 'work')
    env = dict(os.environ, PORT=str(_free_port()), OMP_NUM_THREADS='1',
               PATH=osp.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))
    proc = subprocess.run(['bash', osp.join(REPO, 'tools', 'dist_train.sh'), cls_config, '2', '--work-dir', work,
                           '--cfg-options', 'train_cfg.max_epochs=1'], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    log = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert 'Distributed launcher: pytorch' in log or 'launcher: pytorch' in log
    assert 'gloo' in log


def test_missing_library_gives_clear_message(tmp_path):
    cfg = tmp_path / 'pose.py'
    cfg.write_text("default_scope = 'mmpose'\nmodel = dict(type='TopdownPoseEstimator')\n")
    proc = run_tool('tools/train.py', str(cfg), '--work-dir', str(tmp_path / 'w'), check=False)
    assert proc.returncode != 0
    assert 'mmpose' in proc.stderr and 'tools/setup.sh' in proc.stderr
    assert 'Traceback' not in proc.stderr
    missing = run_tool('tools/train.py', str(tmp_path / 'nope.py'), check=False)
    assert missing.returncode != 0 and 'config file not found' in missing.stderr
