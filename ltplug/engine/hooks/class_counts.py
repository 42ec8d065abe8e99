"""``ClassCountsHook``: hands the per-class training counts to every head, loss and metric that asks for them."""
from __future__ import annotations

import copy

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import DATASETS, HOOKS
from mmengine.runner import BaseLoop

from ltplug.core.counts import ClassCountsError, check_class_counts, dataset_class_counts, load_class_counts
from ltplug.engine.checks import check_num_classes


def iter_class_count_consumers(runner):
    """Yield every model sub-module and evaluator metric that has a ``set_class_counts`` method."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    for module in model.modules():
        if hasattr(module, 'set_class_counts'):
            yield module
    for loop_name in ('_val_loop', '_test_loop'):
        loop = getattr(runner, loop_name, None)
        evaluator = getattr(loop, 'evaluator', None)
        for metric in getattr(evaluator, 'metrics', []) or []:
            if hasattr(metric, 'set_class_counts'):
                yield metric


def train_dataset(runner):
    """The run's training dataset, or None when the config has none.

    In a training run mmengine has built the train loop (and its dataloader) before ``before_run``, so that loader's
    dataset is returned: the annotations are read once. A test-only run has only the ``train_dataloader`` config; then
    its dataset (not the loader, sampler or workers) is built here, the one time it is built in that run.
    """
    if isinstance(getattr(runner, '_train_loop', None), BaseLoop):
        return runner.train_loop.dataloader.dataset
    loader = getattr(runner, '_train_dataloader', None)
    if loader is None:
        return None
    if isinstance(loader, dict):
        dataset = loader.get('dataset')
        if dataset is None:
            return None
        return DATASETS.build(copy.deepcopy(dataset)) if isinstance(dataset, dict) else dataset
    return loader.dataset


@HOOKS.register_module()
class ClassCountsHook(Hook):
    """Hand the per-class training counts to every head, loss and metric that needs them (``set_class_counts``).

    Counts come from ``class_counts`` (a list or a class-count file) if given, else from the run's training dataset
    (:func:`train_dataset`). A run that trains and has neither fails with an error naming the consumers.
    Subclasses count differently (pixels, instances) by overriding :meth:`count`.
    """

    priority = 'VERY_HIGH'

    def __init__(self, class_counts=None) -> None:
        self.class_counts = None if class_counts is None else load_class_counts(class_counts)
        self.counts: np.ndarray | None = None

    def count(self, dataset, runner) -> np.ndarray:
        """Per-class counts of the training dataset."""
        return dataset_class_counts(dataset)

    def resolve(self, runner) -> np.ndarray | None:
        """``class_counts`` if given, else :meth:`count` of the training dataset, else None."""
        if self.class_counts is not None:
            return self.class_counts
        dataset = train_dataset(runner)
        return None if dataset is None else self.count(dataset, runner)

    def before_run(self, runner) -> None:
        consumers = list(iter_class_count_consumers(runner))
        if not consumers:
            return
        counts = self.resolve(runner)
        if counts is None:
            needing = sorted({type(c).__name__ for c in consumers if getattr(c, 'requires_class_counts', True)})
            if needing and runner._train_loop is not None:
                raise ClassCountsError(
                    f'{needing} need per-class training counts, but the config has no train_dataloader and '
                    f'{type(self).__name__} got no class_counts= (a list or a class-count file)')
            return
        self.counts = counts
        for consumer in consumers:
            num_classes = getattr(consumer, 'num_classes', None)
            consumer.set_class_counts(check_class_counts(counts, num_classes,
                                                         where=f'class counts for {type(consumer).__name__}'))
        runner.logger.info(f'{type(self).__name__}: {counts.size} classes, {int(counts.sum())} training samples, '
                           f'max {int(counts.max())}, min {int(counts.min())}')

    def before_test(self, runner) -> None:
        """After the checkpoint is loaded: a model that stores the counts it was trained with (a ``class_counts``
        buffer, e.g. the vMF prior) must have been trained on this config's training set, or the many / medium / few
        grouping of the metrics would silently describe another data set."""
        if self.counts is None:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for name, module in model.named_modules():
            stored = getattr(module, 'class_counts', None)
            if not isinstance(stored, torch.Tensor) or stored.numel() != self.counts.size or int(stored.sum()) == 0:
                continue  # no counts stored (or another label space, e.g. auxiliary classes)
            stored = stored.detach().cpu().numpy().astype(np.int64)
            if not np.array_equal(stored, self.counts):
                raise ClassCountsError(
                    f'the checkpoint was trained on other per-class counts than this config\'s training set: '
                    f'{name}.class_counts = {stored.tolist()}, the config gives {self.counts.tolist()}. Test with the '
                    'data options the checkpoint was trained with (e.g. the same train_dataloader.dataset imb_factor '
                    'and seeds)')

    def before_train(self, runner) -> None:
        """A head with fewer classes than the training data fails here with the config key to fix (any Runner; the
        training labels are read once per dataset, also when ``tools/train.py`` checked them already)."""
        check_num_classes(runner.model, train_dataset(runner))
