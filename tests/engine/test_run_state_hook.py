"""RunStateHook from a config's custom_hooks in a plain mmengine Runner (not tools/train.py): built from mmengine's root
HOOKS under the mmpretrain scope, it seeds torch at every epoch start from (run seed, epoch, rank) alone."""
from __future__ import annotations

import torch
from conftest import digits_run_cfg
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner

import ltplug  # noqa: F401
from ltplug.core.sampling import run_seed
from ltplug.engine.hooks import RunStateHook


@HOOKS.register_module(force=True)
class DrawAtEpochStart(Hook):
    """Draws one torch number right after the higher-priority RunStateHook ran (what the epoch's augmentation sees)."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.draws: list[torch.Tensor] = []

    def before_train_epoch(self, runner) -> None:
        self.draws.append(torch.rand(4))


def test_plain_runner_seeds_every_epoch_from_the_run(tmp_path):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = digits_run_cfg(str(tmp_path), dict(type='LinearClsHead', num_classes=10, in_channels=64), max_epochs=2,
                             custom_hooks=[dict(type='RunStateHook'), dict(type='DrawAtEpochStart')])
        cfg.randomness = dict(seed=123)
        runner = Runner.from_cfg(cfg)
        assert sum(isinstance(h, RunStateHook) for h in runner.hooks) == 1
        draw = next(h for h in runner.hooks if isinstance(h, DrawAtEpochStart))
        runner.train()
    finally:
        torch.set_num_threads(old)
    assert len(draw.draws) == 2
    for epoch, got in enumerate(draw.draws):  # reference: a fresh generator seeded with the run seed of that epoch
        expected = torch.rand(4, generator=torch.Generator().manual_seed(run_seed(123, epoch, 0)))
        assert torch.equal(got, expected), epoch
