"""The official per-epoch schedules: the lr mmengine applies in a real run, epoch by epoch, against references."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS
from mmengine.runner import Runner

import ltplug  # noqa: F401

ITERS_PER_EPOCH = 2


class ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.fc(x)
        return {'loss': out.pow(2).mean()} if mode == 'loss' else out


def run_lrs(tmp_path, scheduler, epochs, lr0=0.2, resume_from=None, extra_group_lr=None):
    """Train the toy model and return the lr of every epoch (first param group, and the second if any)."""
    model = ToyModel()
    if extra_group_lr is None:
        optim = dict(type='SGD', lr=lr0, momentum=0.9)
        wrapper = dict(optimizer=optim)
    else:  # a second param group with its own lr (e.g. the classifier at 0.1 vs the backbone at 0.2)
        wrapper = dict(optimizer=dict(type='SGD', lr=lr0, momentum=0.9),
                       paramwise_cfg=dict(custom_keys={'fc.bias': dict(lr_mult=extra_group_lr / lr0)}))
    runner = Runner(
        model=model, work_dir=str(tmp_path),
        train_dataloader=dict(dataset=[dict(inputs=torch.ones(2))] * (2 * ITERS_PER_EPOCH), batch_size=2,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=wrapper, param_scheduler=scheduler,
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook')),
        load_from=resume_from, resume=resume_from is not None, log_level='WARNING', default_scope='mmengine')
    seen = []

    orig = runner.model.train_step

    def train_step(data, optim_wrapper: OptimWrapper):  # record the lr each iteration really uses
        seen.append([g['lr'] for g in optim_wrapper.optimizer.param_groups])
        return orig(data, optim_wrapper)

    runner.model.train_step = train_step
    runner.train()
    seen = np.array(seen)
    per_epoch = seen.reshape(-1, ITERS_PER_EPOCH, seen.shape[1])
    assert np.all(per_epoch == per_epoch[:, :1])  # set once per epoch, constant inside it
    return per_epoch[:, 0, :]


def official_oltr_lrs(lr0, epochs, eta_min=0.0):
    """classifier-balancing's loop: torch CosineAnnealingLR(T_max=epochs) stepped at the start of every epoch."""
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=eta_min)
    out = []
    for _ in range(epochs):
        opt.step()  # keeps torch's step-order check quiet; the official code also steps the scheduler first
        sched.step()
        out.append(opt.param_groups[0]['lr'])
    return np.array(out)


def official_bcl_lrs(lr0, epochs, warmup):
    """BCL main.py::adjust_lr, written out for every epoch."""
    out = []
    for epoch in range(epochs):
        lr = lr0
        if epoch < warmup:
            lr = lr / warmup * (epoch + 1)
        else:
            lr *= 0.5 * (1. + math.cos(math.pi * (epoch - warmup + 1) / (epochs - warmup + 1)))
        out.append(lr)
    return np.array(out)


def test_offset_cosine_in_a_real_run(tmp_path):
    epochs = 6
    lrs = run_lrs(tmp_path, [dict(type='OffsetCosineAnnealingLR', T_max=epochs, eta_min=0.0)], epochs)[:, 0]
    assert lrs == pytest.approx(official_oltr_lrs(0.2, epochs), rel=1e-12, abs=1e-15)
    assert lrs[-1] == pytest.approx(0.0, abs=1e-15) and lrs[0] < 0.2  # lr0 is never used, the last epoch runs at 0
    # mmengine's own CosineAnnealingLR starts at lr0: the point of this scheduler
    plain = run_lrs(tmp_path / 'plain', [dict(type='CosineAnnealingLR', T_max=epochs, by_epoch=True)], epochs)[:, 0]
    assert plain[0] == pytest.approx(0.2) and not np.allclose(plain, lrs)


def test_offset_cosine_eta_min_and_param_groups(tmp_path):
    epochs = 5
    lrs = run_lrs(tmp_path, [dict(type='OffsetCosineAnnealingLR', T_max=epochs, eta_min=0.01)], epochs,
                  extra_group_lr=0.1)
    assert lrs[:, 0] == pytest.approx(official_oltr_lrs(0.2, epochs, 0.01), rel=1e-12)
    assert lrs[:, 1] == pytest.approx(official_oltr_lrs(0.1, epochs, 0.01), rel=1e-12)
    assert lrs[-1, 0] == pytest.approx(0.01)


@pytest.mark.parametrize('warmup', [0, 2])
def test_bcl_schedule_in_a_real_run(tmp_path, warmup):
    epochs = 7
    lrs = run_lrs(tmp_path, [dict(type='BCLCosineLR', num_epochs=epochs, warmup_epochs=warmup)], epochs)[:, 0]
    assert lrs == pytest.approx(official_bcl_lrs(0.2, epochs, warmup), rel=1e-12)
    assert lrs.min() > 0  # never reaches 0


def test_resume_continues_the_schedule(tmp_path):
    epochs = 6
    # a 6-epoch run stopped after 3 (mmengine fills end=max_epochs when it is not given, so fix it here)
    sched = [dict(type='OffsetCosineAnnealingLR', T_max=epochs, end=epochs)]
    first = run_lrs(tmp_path, sched, 3)[:, 0]
    resumed = run_lrs(tmp_path / 'resumed', sched, epochs, resume_from=str(tmp_path / 'epoch_3.pth'))[:, 0]
    assert np.concatenate([first, resumed]) == pytest.approx(official_oltr_lrs(0.2, epochs), rel=1e-12)


def test_t_max_defaults_to_the_run_length(tmp_path):
    lrs = run_lrs(tmp_path, [dict(type='OffsetCosineAnnealingLR')], 4)[:, 0]  # the runner sets end = max_epochs
    assert lrs == pytest.approx(official_oltr_lrs(0.2, 4), rel=1e-12)


def test_defaults_from_begin_end_and_errors():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    s = PARAM_SCHEDULERS.build(dict(type='OffsetCosineAnnealingLR', optimizer=opt, begin=0, end=4))
    assert s.T_max == 4 and opt.param_groups[0]['lr'] == pytest.approx(official_oltr_lrs(1.0, 4)[0])
    with pytest.raises(ValueError, match='give T_max'):
        PARAM_SCHEDULERS.build(dict(type='OffsetCosineAnnealingLR', optimizer=opt))
    with pytest.raises(ValueError, match='warmup_epochs <= num_epochs'):
        PARAM_SCHEDULERS.build(dict(type='BCLCosineLR', optimizer=opt, num_epochs=3, warmup_epochs=5))
