"""Registered LT samplers: mmengine integration, set_epoch, epoch length and distributed shares (2 gloo processes)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _dist import run_distributed
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.registry import DATA_SAMPLERS
from mmpretrain.registry import DATASETS
from torch.utils.data import DataLoader

import ltplug  # noqa: F401
from ltplug.core import sampling
from ltplug.core.counts import dataset_labels

SAMPLERS = [
    dict(type='InstanceBalancedSampler'),
    dict(type='ClassBalancedSampler', num_samples_cls=4),
    dict(type='PowerSampler', q=0.5),
    dict(type='SquareRootSampler'),
    dict(type='ProgressivelyBalancedSampler', num_epochs=5),
]


def digits(split='train'):
    return DATASETS.build(dict(type='DigitsLT', split=split))


def build(cfg, dataset, seed=0):
    return DATA_SAMPLERS.build(dict(cfg), default_args=dict(dataset=dataset, seed=seed))


@pytest.mark.parametrize('cfg', SAMPLERS, ids=lambda c: c['type'])
def test_registered_in_root_registry_and_epoch_length(cfg):
    ds = digits()
    s = build(cfg, ds)
    assert len(s) == len(ds)  # default: len(dataset) samples per epoch
    idx = list(s)
    assert len(idx) == len(ds) and all(0 <= i < len(ds) for i in idx)
    assert idx == list(s)  # same epoch, same plan
    s.set_epoch(1)
    assert list(s) != idx  # set_epoch selects another epoch's plan
    s2 = build({**cfg, 'num_samples': 1000}, ds)
    assert len(s2) == 1000 and len(list(s2)) == 1000
    # with drop_last the loader gives int(N / batch) iterations per epoch (the official convention)
    loader = DataLoader(ds, batch_size=32, sampler=s, drop_last=True, collate_fn=pseudo_collate)
    assert len(loader) == len(ds) // 32


@pytest.mark.parametrize('package', ['mmpretrain', 'mmseg', 'mmdet'])
def test_visible_from_every_scope(package):
    """Each installed task library sees the samplers (the cls-only environment has no mmseg / mmdet to check)."""
    registry = pytest.importorskip(f'{package}.registry', reason=f'{package} is not installed in this environment')
    assert registry.DATA_SAMPLERS.get('ClassBalancedSampler') is not None


def test_class_balanced_sampler_batches_hold_groups_of_four():
    ds = digits()
    labels = dataset_labels(ds)
    s = build(dict(type='ClassBalancedSampler'), ds, seed=3)
    batch = np.array(list(s))[:40]
    groups = labels[batch].reshape(-1, 4)
    assert np.all(groups == groups[:, :1])
    assert sorted(groups[:10, 0].tolist()) == list(range(10))  # the first pass visits all 10 classes once


def test_plan_matches_core_function():
    ds = digits()
    s = build(dict(type='PowerSampler', q=0.0), ds, seed=9)
    s.set_epoch(4)
    idx = sampling.build_class_index(dataset_labels(ds))
    assert np.array_equal(np.array(list(s)), sampling.power_plan(idx, len(ds), 9, 4, 0.0))


def test_progressive_reads_max_epochs_from_the_message_hub():
    ds = digits()
    s = build(dict(type='ProgressivelyBalancedSampler'), ds)
    hub = MessageHub.get_instance('test_pb_hub')
    hub.update_info('max_epochs', 11)
    assert s.num_epochs == 11
    s.set_epoch(5)
    assert s.lam() == pytest.approx(0.5)
    hub.update_info('max_epochs', None)
    with pytest.raises(ValueError, match='num_epochs is not set'):
        _ = s.num_epochs


def test_bad_configs_fail_clearly():
    ds = digits()
    with pytest.raises(ValueError, match='num_samples_cls must be >= 1'):
        build(dict(type='ClassBalancedSampler', num_samples_cls=0), ds)
    with pytest.raises(ValueError, match='num_samples must be a positive integer'):
        build(dict(type='PowerSampler', num_samples=0), ds)
    with pytest.raises(ValueError, match='q = 0.5 fixed'):
        build(dict(type='SquareRootSampler', q=0.3), ds)
    sub = ds.get_subset([i for i, lab in enumerate(dataset_labels(ds)) if lab != 3])
    with pytest.raises(ValueError, match=r'ClassBalancedSampler.*no training samples.*\[3\]'):
        build(dict(type='ClassBalancedSampler'), sub)


@pytest.mark.parametrize('cfg', SAMPLERS[1:], ids=lambda c: c['type'])
def test_an_empty_last_class_is_caught(cfg):
    """Issue 16.5: the number of classes is the data set's, not max(label) + 1, so an empty last class is an error."""
    ds = digits()
    sub = ds.get_subset([i for i, lab in enumerate(dataset_labels(ds)) if lab != 9])
    if cfg['type'] in ('ClassBalancedSampler', 'ProgressivelyBalancedSampler'):
        with pytest.raises(ValueError, match=r'no training samples.*\[9\]'):
            build(cfg, sub)
    else:  # i.i.d. power sampling gives an empty class probability 0: it runs, over the true 10 classes
        s = build(cfg, sub)
        assert s.index.num_classes == 10 and s.index.counts[9] == 0


def test_a_data_set_without_classes_needs_num_classes():
    """Without metainfo classes an empty last class cannot be seen: the sampler asks for num_classes."""
    class Bare(torch.utils.data.Dataset):
        metainfo: dict = {}

        def __len__(self):
            return 6

        def get_gt_labels(self):
            return np.array([0, 0, 1, 1, 2, 2])

    with pytest.raises(ValueError, match='declares no classes.*num_classes=C'):
        build(dict(type='ClassBalancedSampler'), Bare())
    s = build(dict(type='ClassBalancedSampler', num_classes=3), Bare())
    assert s.index.num_classes == 3
    with pytest.raises(ValueError, match=r'no training samples.*\[3\]'):
        build(dict(type='ClassBalancedSampler', num_classes=4), Bare())


# ---------------------------------------------------------------- distributed
DIST_CFGS = [dict(type='ClassBalancedSampler'), dict(type='InstanceBalancedSampler'),
             dict(type='ProgressivelyBalancedSampler', num_epochs=4, block_size=4)]
DIST_EPOCH = 2


def _rank_plans(rank, world_size, cfgs, epoch):
    ds = DATASETS.build(dict(type='DigitsLT', split='train'))
    out = []
    for cfg in cfgs:
        s = DATA_SAMPLERS.build(dict(cfg), default_args=dict(dataset=ds, seed=None))  # seed synchronised across ranks
        s.set_epoch(epoch)
        out.append(dict(share=list(s), plan=s.global_plan().tolist(), seed=s.seed, length=len(s), total=s.total_size))
    return out


@pytest.fixture(scope='module')
def dist_results():
    """One 2-process gloo run (spawn) for all sampler types: results[rank][config]."""
    torch.set_num_threads(1)
    return run_distributed(_rank_plans, 2, DIST_CFGS, DIST_EPOCH)


@pytest.mark.parametrize('k', range(len(DIST_CFGS)), ids=[c['type'] for c in DIST_CFGS])
def test_distributed_shares(dist_results, k):
    cfg = DIST_CFGS[k]
    r0, r1 = dist_results[0][k], dist_results[1][k]
    assert r0['seed'] == r1['seed'] and r0['plan'] == r1['plan']  # one global plan from (seed, epoch)
    assert r0['length'] == r1['length'] == len(r0['share']) == len(r1['share'])
    n = len(digits())
    block = cfg.get('block_size', 1)
    assert r0['total'] == 2 * r0['length'] and n <= r0['total'] < n + 2 * block
    plan = np.array(r0['plan'])
    rows = plan.reshape(-1, 2 * block)
    assert np.array_equal(np.array(r0['share']), rows[:, :block].reshape(-1))
    assert np.array_equal(np.array(r1['share']), rows[:, block:].reshape(-1))
    assert sorted(r0['share'] + r1['share']) == sorted(r0['plan'])  # union = the global plan
    # the plan is the single-process sampler's plan for the same total length
    single = build({**cfg, 'num_samples': r0['total']}, digits(), seed=r0['seed'])
    single.set_epoch(DIST_EPOCH)
    assert single.global_plan().tolist() == r0['plan']
    if cfg['type'] == 'InstanceBalancedSampler':  # without replacement: the shares are disjoint index sets
        assert not set(r0['share'][:n // 2]) & set(r1['share'][:n // 2])
