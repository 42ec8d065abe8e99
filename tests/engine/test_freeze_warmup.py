"""FreezeModulesHook(epochs=E), the head-only warm-up, in a real Runner: the frozen modules are bit-identical during the
first E epochs and move afterwards, the head moves throughout, and a parameter the user froze stays frozen."""
from __future__ import annotations

import pytest
import torch
from conftest import digits_run_cfg
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import ltplug  # noqa: F401
from ltplug.engine.hooks import FreezeModulesHook


class Snapshots(Hook):
    """Backbone / head parameters at the start and after every training epoch."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.backbone: list[torch.Tensor] = []
        self.head: list[torch.Tensor] = []
        self.conv1: list[torch.Tensor] = []

    def _take(self, runner) -> None:
        model = runner.model
        self.backbone.append(torch.cat([p.detach().flatten() for p in model.backbone.parameters()]).clone())
        self.head.append(torch.cat([p.detach().flatten() for p in model.head.parameters()]).clone())
        self.conv1.append(model.backbone.conv1.weight.detach().clone())

    def before_train(self, runner) -> None:
        self._take(runner)

    def after_train_epoch(self, runner) -> None:
        self._take(runner)


def cfg(work_dir: str, hook: dict, train_cfg: dict | None = None) -> Config:
    """Three training epochs of a linear head on digits, no evaluation."""
    config = digits_run_cfg(work_dir, dict(type='LinearClsHead', num_classes=10, in_channels=64), max_epochs=3,
                            custom_hooks=[hook])
    if train_cfg is not None:
        config.train_cfg = train_cfg
    return config


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_warmup_freezes_then_releases(tmp_path):
    runner = Runner.from_cfg(cfg(str(tmp_path), dict(type='FreezeModulesHook', modules=['backbone'], epochs=2)))
    user_frozen = runner.model.backbone.conv1.weight
    user_frozen.requires_grad_(False)  # frozen by the user before training: the warm-up must not unfreeze it
    snaps = Snapshots()
    runner.register_hook(snaps)
    runner.train()
    b, h = snaps.backbone, snaps.head
    assert len(b) == 4  # start + 3 epochs
    assert torch.equal(b[0], b[1]) and torch.equal(b[1], b[2])  # epochs 0, 1: no gradient, no update
    assert not torch.equal(b[2], b[3])  # epoch 2: it trains
    assert all(not torch.equal(h[i], h[i + 1]) for i in range(3))  # the head trains throughout
    assert not user_frozen.requires_grad and torch.equal(snaps.conv1[0], snaps.conv1[-1])
    others = [p for n, p in runner.model.named_parameters() if n != 'backbone.conv1.weight']
    assert all(p.requires_grad for p in others)


def test_warmup_needs_an_epoch_loop(tmp_path):
    runner = Runner.from_cfg(cfg(str(tmp_path), dict(type='FreezeModulesHook', modules=['backbone'], epochs=1),
                                 train_cfg=dict(by_epoch=False, max_iters=2)))
    with pytest.raises(ValueError, match='epoch-based train loop'):
        runner.train()


@pytest.mark.parametrize('epochs', [0, -1, 1.5, True])
def test_bad_epochs_are_refused(epochs):
    with pytest.raises(ValueError, match='epochs must be None'):
        FreezeModulesHook(epochs=epochs)


def test_whole_run_freeze_needs_a_checkpoint_but_a_warmup_does_not(tmp_path):
    runner = Runner.from_cfg(cfg(str(tmp_path / 'a'), dict(type='FreezeModulesHook', modules=['backbone'])))
    with pytest.raises(ValueError, match='sets no load_from'):
        runner.train()
    runner = Runner.from_cfg(cfg(str(tmp_path / 'b'), dict(type='FreezeModulesHook', modules=['backbone'], epochs=1),
                                 train_cfg=dict(by_epoch=True, max_epochs=1)))
    runner.train()
    assert all(p.requires_grad for p in runner.model.parameters())
