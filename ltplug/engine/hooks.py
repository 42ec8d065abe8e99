"""mmengine hooks shared by all tasks."""
from __future__ import annotations

import copy

import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import DATASETS, HOOKS

from .class_counts import ClassCountsError, check_class_counts, dataset_class_counts, load_class_counts


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


@HOOKS.register_module()
class ClassCountsHook(Hook):
    """Hand the per-class training counts to every head, loss and metric that needs them (``set_class_counts``).

    Counts come from ``class_counts`` (a list or a class-count file) if given, else from the training dataset of the
    run (built from the config when the run only tests). A run that needs counts and has neither fails clearly.
    """

    priority = 'VERY_HIGH'

    def __init__(self, class_counts=None) -> None:
        self.class_counts = None if class_counts is None else load_class_counts(class_counts)
        self.counts: np.ndarray | None = None

    def _train_dataset(self, runner):
        loader = getattr(runner, '_train_dataloader', None)
        if loader is None:
            return None
        if isinstance(loader, dict):
            ds_cfg = loader.get('dataset')
            if ds_cfg is None:
                return None
            ds_cfg = copy.deepcopy(ds_cfg)
            # only the annotations are needed; lazy_init avoids loading anything heavy where supported
            return DATASETS.build(ds_cfg)
        return loader.dataset

    def resolve(self, runner) -> np.ndarray | None:
        if self.class_counts is not None:
            return self.class_counts
        dataset = self._train_dataset(runner)
        if dataset is None:
            return None
        return dataset_class_counts(dataset)

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
                    'ClassCountsHook got no class_counts= (a list or a class-count file)')
            return
        self.counts = counts
        for consumer in consumers:
            num_classes = getattr(consumer, 'num_classes', None)
            consumer.set_class_counts(check_class_counts(counts, num_classes,
                                                         where=f'class counts for {type(consumer).__name__}'))
        runner.logger.info(f'ClassCountsHook: {counts.size} classes, {int(counts.sum())} training samples, '
                           f'max {int(counts.max())}, min {int(counts.min())}')
