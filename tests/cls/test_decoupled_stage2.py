"""cRT / LWS stage-2 recipes through the real mmengine Runner on the bundled digits: what is frozen stays bit-identical,
BatchNorm statistics follow the ``norm_eval`` switch, and the classifier really trains (re-initialised for cRT)."""
from __future__ import annotations

import copy
import math
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from torch.nn.modules.batchnorm import _BatchNorm

import ltplug  # noqa: F401

CFG_DIR = osp.join(REPO, 'configs', 'decoupling')
NUM_SAMPLES = 64  # 2 iterations of batch 32 per epoch: enough to see every effect, cheap on 2 CPU cores


def short_cfg(name: str, work_dir: str, load_from: str | None, epochs: int = 1) -> Config:
    """A repository config, shortened: ``epochs`` epochs of 2 iterations, no validation, quiet logging."""
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    cfg.work_dir = work_dir
    cfg.load_from = load_from
    cfg.train_dataloader.sampler.num_samples = NUM_SAMPLES
    cfg.train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=100)
    cfg.param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=epochs + 1, by_epoch=True, begin=0, end=epochs)]
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, save_best=None)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_level = 'WARNING'
    return cfg


def freeze_hook(cfg: Config) -> dict:
    return next(h for h in cfg.custom_hooks if h['type'] == 'FreezeModulesHook')


class Probe(Hook):
    """Records the head's parameters when training starts (after FreezeModulesHook's re-initialisation)."""

    priority = 'LOW'

    def before_train(self, runner) -> None:
        self.start = {k: v.detach().clone() for k, v in runner.model.head.state_dict().items()}


@pytest.fixture(scope='module')
def stage1(tmp_path_factory) -> tuple[str, dict]:
    """A real stage-1 (joint) checkpoint of the digits config, trained for one short epoch."""
    work = str(tmp_path_factory.mktemp('joint'))
    runner = Runner.from_cfg(short_cfg('joint_cifar-resnet20_digits-lt.py', work, None))
    runner.train()
    ckpt = osp.join(work, 'epoch_1.pth')
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    return ckpt, state


def run_stage2(cfg: Config, optim_wrapper=None) -> tuple[Runner, Probe]:
    runner = Runner.from_cfg(cfg)
    probe = Probe()
    runner.register_hook(probe)
    if optim_wrapper is not None:
        runner.optim_wrapper = optim_wrapper(runner.model)
    runner.train()
    return runner, probe


def split_state(model) -> tuple[dict, dict, dict]:
    """(representation parameters, BatchNorm running statistics, head tensors) of a model's state dict."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    stats_names = {f'{n}.{b}' for n, m in model.named_modules() if isinstance(m, _BatchNorm)
                   for b in ('running_mean', 'running_var', 'num_batches_tracked')}
    params = {k: v for k, v in state.items() if not k.startswith('head.') and k not in stats_names}
    stats = {k: v for k, v in state.items() if k in stats_names}
    head = {k: v for k, v in state.items() if k.startswith('head.')}
    return params, stats, head


def assert_bit_identical(a: dict, b: dict) -> None:
    assert a.keys() <= b.keys()
    changed = [k for k in a if not torch.equal(a[k], b[k])]
    assert not changed, f'changed: {changed[:5]}'


@pytest.mark.parametrize('norm_eval', [False, True])
def test_crt_freezes_representation_and_retrains_a_fresh_classifier(tmp_path, stage1, norm_eval):
    ckpt, s1 = stage1
    cfg = short_cfg('crt_cifar-resnet20_digits-lt.py', str(tmp_path), ckpt)
    assert freeze_hook(cfg)['norm_eval'] is False  # the official behaviour is the config default
    freeze_hook(cfg)['norm_eval'] = norm_eval
    runner, probe = run_stage2(cfg)
    params, stats, head = split_state(runner.model)
    assert params, 'no representation parameter found'
    # backbone + neck parameters bit-identical to stage 1 after 2 SGD steps (momentum + weight decay in the optimizer)
    assert_bit_identical(params, s1)
    assert all(not p.requires_grad for p in runner.model.backbone.parameters())
    s1_stats = {k: s1[k] for k in stats}
    if norm_eval:
        assert_bit_identical(stats, s1_stats)
    else:  # official: batch statistics, running stats updated on the class-balanced batches
        changed = [k for k in stats if k.endswith('running_mean') and not torch.equal(stats[k], s1_stats[k])]
        assert len(changed) == sum(k.endswith('running_mean') for k in stats)
        tracked = [k for k in stats if k.endswith('num_batches_tracked')]
        assert all(int(stats[k]) == int(s1_stats[k]) + 2 for k in tracked)
    # the classifier was re-initialised after loading (PyTorch default init: |w| <= 1/sqrt(fan_in)) ...
    w0, b0 = probe.start['fc.weight'], probe.start['fc.bias']
    bound = 1 / math.sqrt(w0.shape[1])
    assert not torch.equal(w0, s1['head.fc.weight']) and not torch.equal(b0, s1['head.fc.bias'])
    assert (w0 != s1['head.fc.weight']).all()
    assert w0.abs().max() <= bound and b0.abs().max() <= bound
    # ... and then trained
    assert not torch.equal(head['head.fc.weight'], w0) and not torch.equal(head['head.fc.bias'], b0)


def test_lws_trains_only_the_scales(tmp_path, stage1):
    ckpt, s1 = stage1
    runner, probe = run_stage2(short_cfg('lws_cifar-resnet20_digits-lt.py', str(tmp_path), ckpt))
    params, _, head = split_state(runner.model)
    assert_bit_identical(params, s1)
    assert torch.equal(head['head.fc.weight'], s1['head.fc.weight'])  # W and b frozen, not re-initialised
    assert torch.equal(head['head.fc.bias'], s1['head.fc.bias'])
    assert torch.equal(probe.start['scales'], torch.ones(10))
    assert not torch.equal(head['head.scales'], torch.ones(10))


def test_crt_with_an_optimizer_over_the_trainable_parameters_only(tmp_path, stage1):
    ckpt, s1 = stage1

    def head_only(model):
        return OptimWrapper(torch.optim.SGD(model.head.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4))

    runner, probe = run_stage2(short_cfg('crt_cifar-resnet20_digits-lt.py', str(tmp_path), ckpt), head_only)
    params, _, head = split_state(runner.model)
    assert_bit_identical(params, s1)
    assert not torch.equal(probe.start['fc.weight'], s1['head.fc.weight'])  # re-initialised in place ...
    assert not torch.equal(head['head.fc.weight'], probe.start['fc.weight'])  # ... and the optimizer trained it


def test_resuming_crt_keeps_the_trained_classifier(tmp_path, stage1):
    ckpt, _ = stage1
    cfg = short_cfg('crt_cifar-resnet20_digits-lt.py', str(tmp_path), ckpt)
    run_stage2(copy.deepcopy(cfg))
    first = torch.load(osp.join(str(tmp_path), 'epoch_1.pth'), map_location='cpu', weights_only=True)['state_dict']
    cfg = short_cfg('crt_cifar-resnet20_digits-lt.py', str(tmp_path), osp.join(str(tmp_path), 'epoch_1.pth'), epochs=2)
    cfg.resume = True
    runner, probe = run_stage2(cfg)
    assert runner.iter == 4
    assert torch.equal(probe.start['fc.weight'], first['head.fc.weight'])  # no re-initialisation on resume


def test_missing_load_from_and_bad_module_names_fail_clearly(tmp_path, stage1):
    cfg = short_cfg('crt_cifar-resnet20_digits-lt.py', str(tmp_path), None)
    with pytest.raises(ValueError, match='sets no load_from'):
        Runner.from_cfg(cfg).train()
    cfg = short_cfg('crt_cifar-resnet20_digits-lt.py', str(tmp_path / 'b'), stage1[0])
    freeze_hook(cfg)['modules'] = ['backbone', 'necks']
    with pytest.raises(ValueError, match=r"modules names 'necks'.*children"):
        Runner.from_cfg(cfg).train()
