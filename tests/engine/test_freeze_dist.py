"""FreezeModulesHook under real distributed training (2 CPU ranks, gloo, torchrun): the frozen parameters stay
bit-identical, DDP accepts the gradient-less parameters, and the re-initialised classifier is the same on every rank
even when the ranks' random streams differ."""
from __future__ import annotations

import json
import os
import os.path as osp
import socket
import subprocess
import sys
import textwrap

import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import ltplug  # noqa: F401

CRT = osp.join(REPO, 'configs', 'decoupling', 'crt_cifar-resnet20_digits-lt.py')

SCRIPT = textwrap.dedent('''
    import argparse, json, os, sys
    import torch
    from mmengine.dist import all_gather, get_rank
    from mmengine.runner import Runner

    cfg_path, ckpt, work, out, repo = sys.argv[1:6]
    sys.path.insert(0, os.path.join(repo, 'tools'))
    from _common import load_config  # what tools/train.py does: gloo process group + CPU DDP wrapper on CPUs

    def runner(find_unused):
        args = argparse.Namespace(config=cfg_path, launcher='pytorch', local_rank=int(os.environ['LOCAL_RANK']),
                                  work_dir=os.path.join(work, str(find_unused)),
                                  cfg_options=dict(find_unused_parameters=find_unused))
        cfg = load_config(args)
        cfg.experiment_name = f'freeze_dist_{find_unused}'
        cfg.load_from = ckpt
        cfg.randomness = dict(seed=0, diff_rank_seed=True)  # different random streams on the two ranks
        cfg.train_dataloader.sampler.num_samples = 64
        cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
        cfg.param_scheduler = []
        cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, save_best=None)
        cfg.log_level = 'WARNING'
        return Runner.from_cfg(cfg)

    result = {}
    try:  # without find_unused_parameters the hook must stop the run before DDP fails obscurely
        runner(False).train()
    except ValueError as e:
        result['error'] = str(e)
    r = runner(True)
    r.train()
    model = r.model.module
    s1 = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    result['frozen_same'] = all(torch.equal(p, s1['backbone.' + n]) for n, p in model.backbone.named_parameters())
    heads = all_gather(torch.cat([model.head.fc.weight.detach().flatten(), model.head.fc.bias.detach()]))
    result['heads_equal'] = bool(torch.equal(heads[0], heads[1]))
    result['head_changed'] = not torch.equal(model.head.fc.weight.detach(), s1['head.fc.weight'])
    if get_rank() == 0:
        json.dump(result, open(out, 'w'))
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _run(tmp_path, ckpt: str) -> dict:
    script = tmp_path / 'run.py'
    script.write_text(SCRIPT)
    out = str(tmp_path / 'result.json')
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''), OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', f'--master_port={_free_port()}',
           str(script), CRT, ckpt, str(tmp_path / 'work'), out, REPO]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-5000:]
    with open(out) as f:
        return json.load(f)


def test_crt_two_ranks(tmp_path):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CRT).model)
    ckpt = str(tmp_path / 'stage1.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    result = _run(tmp_path, ckpt)
    assert 'find_unused_parameters = True' in result.pop('error')
    assert result == dict(frozen_same=True, heads_equal=True, head_changed=True)
