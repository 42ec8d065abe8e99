"""ClassCountsHook in a real mmengine Runner: the counts handed to the head and the metric are the training set's label
histogram (recounted here by a loop over the built train loader's samples), the train set is built once per run
(the hook uses the runner's loader, it does not rebuild it), and missing or inconsistent counts fail naming the
consumer."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from conftest import digits_run_cfg
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import DATASETS

import ltplug  # noqa: F401
from ltplug.cls.datasets.digits_lt import DigitsLT
from ltplug.core.counts import ClassCountsError
from ltplug.engine.checks import ConfigValueError, check_num_classes
from ltplug.engine.hooks import ClassCountsHook, train_dataset


@DATASETS.register_module(force=True)
class BuildCountingDigitsLT(DigitsLT):
    """DigitsLT that counts how often it is built (the annotations read), per split."""

    builds: dict[str, int] = {}

    def __init__(self, split: str = 'train', **kwargs) -> None:
        BuildCountingDigitsLT.builds[split] = BuildCountingDigitsLT.builds.get(split, 0) + 1
        super().__init__(split=split, **kwargs)


@pytest.fixture(autouse=True)
def reset_builds():
    BuildCountingDigitsLT.builds = {}
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def digits_cfg(work_dir: str, hook: dict | None = None) -> Config:
    """One epoch with a vMF head (log prior) and LongTailAccuracy, on the build-counting digits."""
    return digits_run_cfg(work_dir, dict(type='VMFClsHead', num_classes=10, in_channels=64),
                          evaluator=dict(type='LongTailAccuracy', num_classes=10, many_thr=50, few_thr=20),
                          dataset_type='BuildCountingDigitsLT', custom_hooks=[hook or dict(type='ClassCountsHook')])


def recount(dataset) -> np.ndarray:
    """The label histogram by a plain loop over the samples (independent of get_class_counts / get_gt_labels)."""
    counts = np.zeros(10, np.int64)
    for i in range(len(dataset)):
        counts[int(dataset.get_data_info(i)['gt_label'])] += 1
    return counts


def the_hook(runner) -> ClassCountsHook:
    return next(h for h in runner.hooks if isinstance(h, ClassCountsHook))


def test_training_run_uses_the_built_loader_dataset(tmp_path):
    runner = Runner.from_cfg(digits_cfg(str(tmp_path)))
    runner.train()
    assert BuildCountingDigitsLT.builds['train'] == 1  # built by the train loop only, not again by the hook
    loader_ds = runner.train_dataloader.dataset
    assert train_dataset(runner) is loader_ds
    expected = recount(loader_ds)
    assert expected[0] > expected[-1] > 0  # long-tailed, no empty class
    np.testing.assert_array_equal(the_hook(runner).counts, expected)
    # the head's log prior and the metric's shot split were given exactly these counts
    np.testing.assert_allclose(runner.model.head.vmf.log_prior.double().numpy(), np.log(expected), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(runner.val_evaluator.metrics[0].class_counts, expected)


def test_test_only_run_builds_the_train_set_once(tmp_path):
    runner = Runner.from_cfg(digits_cfg(str(tmp_path)))
    runner.test()
    assert BuildCountingDigitsLT.builds == {'train': 1, 'test': 1}
    np.testing.assert_array_equal(runner.test_evaluator.metrics[0].class_counts,
                                  recount(BuildCountingDigitsLT(split='train', imb_factor=10)))


def test_given_counts_replace_the_dataset(tmp_path):
    counts = list(range(20, 10, -1))
    runner = Runner.from_cfg(digits_cfg(str(tmp_path), dict(type='ClassCountsHook', class_counts=counts)))
    runner.test()
    assert 'train' not in BuildCountingDigitsLT.builds  # nothing to count: the train set is never built
    np.testing.assert_array_equal(runner.test_evaluator.metrics[0].class_counts, counts)


def test_wrong_number_of_classes_names_the_consumer(tmp_path):
    runner = Runner.from_cfg(digits_cfg(str(tmp_path), dict(type='ClassCountsHook', class_counts=[5] * 9)))
    with pytest.raises(ClassCountsError, match='for VMFClassifier: got counts for 9 classes but num_classes=10'):
        runner.test()


def test_no_train_set_and_no_counts_fails_clearly(tmp_path):
    cfg = digits_cfg(str(tmp_path))
    cfg.train_dataloader = None
    cfg.train_cfg = None
    cfg.optim_wrapper = None
    runner = Runner.from_cfg(cfg)
    hook = the_hook(runner)
    assert hook.resolve(runner) is None
    with pytest.raises(ValueError, match='LongTailAccuracy needs the per-class training counts'):
        runner.test()


def linear_cfg(work_dir: str, num_classes: int) -> Config:
    """Training only, a plain linear head (no class-count consumer), ClassCountsHook in custom_hooks."""
    return digits_run_cfg(work_dir, dict(type='LinearClsHead', num_classes=num_classes, in_channels=64),
                          custom_hooks=[dict(type='ClassCountsHook')])


def test_plain_runner_with_too_few_head_classes_fails_before_training(tmp_path):
    """A plain mmengine Runner (not tools/train.py) gets the config key to fix from ClassCountsHook.before_train,
    before the first step (which would otherwise fail inside the loss on label 9 >= 7)."""
    runner = Runner.from_cfg(linear_cfg(str(tmp_path), 7))
    with pytest.raises(ConfigValueError, match=r'model.head.num_classes=7, but the training set .*10 classes in its '
                       r'metainfo.*set model.head.num_classes=10'):
        runner.train()
    assert runner.iter == 0


def test_num_classes_check_reads_the_labels_once(tmp_path):
    """tools/train.py checks the training set before runner.train(); the hook's check then reuses what was read."""
    runner = Runner.from_cfg(linear_cfg(str(tmp_path), 10))
    dataset = runner.train_dataloader.dataset
    calls = []
    read_labels = dataset.get_gt_labels

    def counted():
        calls.append(1)
        return read_labels()
    dataset.get_gt_labels = counted
    check_num_classes(runner.model, dataset)  # what tools/train.py does
    runner.train()
    assert len(calls) == 1 and runner.iter > 0
    # the model side is checked every time: a smaller head on the same (already read) dataset still fails
    runner.model.head.num_classes = 9
    with pytest.raises(ConfigValueError, match='model.head.num_classes=9'):
        check_num_classes(runner.model, dataset)
    assert len(calls) == 1


def test_lvis_category_counts_come_from_the_parsed_file(tmp_path):
    """source='instance_count' reads the categories the LVIS data set kept when it parsed its file: the file is not
    read again (here it is gone by then), and the counts are the file's."""
    import os.path as osp
    import sys

    from conftest import REPO
    from mmengine.registry import init_default_scope

    from ltplug.det.class_counts import det_class_counts

    sys.path.insert(0, osp.join(REPO, 'tools', 'misc'))
    from make_tiny_lvis import make_tiny_lvis

    init_default_scope('mmdet')
    root = str(tmp_path / 'lvis')
    written = make_tiny_lvis(root, num_train=4, num_val=4, size=64)
    classes = tuple(c['name'] for c in written['categories'])
    ds = DATASETS.build(dict(type='CheckedLVISV1Dataset', data_root=root + '/', metainfo=dict(classes=classes),
                             ann_file='annotations/lvis_v1_train.json', data_prefix=dict(img=''), pipeline=[]))
    os.remove(osp.join(root, 'annotations', 'lvis_v1_train.json'))
    counts = det_class_counts(ds, source='instance_count')
    assert counts.tolist() == [c['instance_count'] for c in written['categories']]
