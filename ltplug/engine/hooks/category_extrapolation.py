"""``CategoryExtrapolationHook``: class counts, neighbour pairs and the per-epoch auxiliary re-draw for category
extrapolation (the data set is ``CategoryExtrapolationDataset`` in ``ltplug/cls/datasets/extrapolation.py``)."""
from __future__ import annotations

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop

from ltplug.core.counts import ClassCountsError, check_class_counts, load_class_counts

from .class_counts import ClassCountsHook, iter_class_count_consumers, train_dataset


def _extrapolation_dataset(dataset):
    from ltplug.cls.datasets.extrapolation import find_extrapolation_dataset
    return find_extrapolation_dataset(dataset)


@HOOKS.register_module()
class CategoryExtrapolationHook(ClassCountsHook):
    """Class counts, neighbour pairs and per-epoch re-subsampling for a ``CategoryExtrapolationDataset`` train set.

    Use it **instead of** ``ClassCountsHook`` (``custom_hooks = [dict(type='CategoryExtrapolationHook')]``).
    Before the run it hands

    * the counts of all K classes to every model module with ``set_class_counts`` whose ``num_classes`` is K (or
      unset), e.g. ``NeighbourSilencingLoss``, and the neighbour pairs to modules with ``set_neighbour_pairs``;
    * the counts of the C_tgt target classes to the metrics (evaluation only covers targets).

    It also checks that the head's ``num_classes`` / ``num_target_classes`` match the train set, and before every
    training epoch calls ``set_epoch(epoch)`` on the train set so the auxiliary subset is redrawn. Worker processes keep
    their own copy of the data set, so ``persistent_workers`` must be False when ``num_workers > 0``.

    Args:
        target_class_counts: counts of the target classes for test-only runs without a train set in the config.
    """

    priority = 'VERY_HIGH'

    def __init__(self, target_class_counts=None) -> None:
        super().__init__()
        self.target_class_counts = None if target_class_counts is None else load_class_counts(target_class_counts)

    def before_run(self, runner) -> None:
        dataset = train_dataset(runner)
        ext = _extrapolation_dataset(dataset)
        consumers = list(iter_class_count_consumers(runner))
        if ext is None:
            if dataset is not None:
                raise ClassCountsError(f'CategoryExtrapolationHook: the train set is {type(dataset).__name__}, not a '
                                       'CategoryExtrapolationDataset; use ClassCountsHook for ordinary data sets')
            if self.target_class_counts is None:
                if runner._train_loop is not None:
                    raise ClassCountsError('CategoryExtrapolationHook: no train_dataloader in the config and no '
                                           'target_class_counts=')
                return
            for c in consumers:
                if not isinstance(c, nn.Module):
                    c.set_class_counts(check_class_counts(self.target_class_counts, getattr(c, 'num_classes', None),
                                                          where=f'target class counts for {type(c).__name__}'))
            return
        k, c_tgt = ext.num_classes, ext.num_target_classes
        counts = ext.get_class_counts()
        self.counts = counts
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for module in model.modules():
            n_tgt = getattr(module, 'num_target_classes', None)
            if n_tgt is not None and hasattr(module, 'num_classes'):
                if int(module.num_classes) != k or int(n_tgt) != c_tgt:
                    raise ClassCountsError(
                        f'{type(module).__name__}: num_classes={module.num_classes}, num_target_classes={n_tgt} but '
                        f'the train set has K={k} classes ({c_tgt} target + {ext.num_aux_classes} auxiliary); set '
                        f'model.head.num_classes={k} and num_target_classes={c_tgt}')
            if hasattr(module, 'set_neighbour_pairs'):
                module.set_neighbour_pairs(ext.neighbour_pairs)
        for c in consumers:
            is_metric = not isinstance(c, nn.Module)
            n = getattr(c, 'num_classes', None)
            if n == k or (n is None and not is_metric):
                given, what = counts, f'all {k}'
            elif n == c_tgt or (n is None and is_metric):
                given, what = counts[:c_tgt], f'the {c_tgt} target'
            else:
                raise ClassCountsError(f'{type(c).__name__}: num_classes={n}, but the train set has {c_tgt} target '
                                       f'and {k} classes in all')
            c.set_class_counts(check_class_counts(given, None if n is None else int(n),
                                                  where=f'counts of {what} classes for {type(c).__name__}'))
        runner.logger.info(f'CategoryExtrapolationHook: {ext!r}; class counts: {c_tgt} target classes '
                           f'({int(counts[:c_tgt].sum())} images), {k - c_tgt} auxiliary classes '
                           f'({int(counts[c_tgt:].sum())} images per epoch)')

    def before_train(self, runner) -> None:
        super().before_train(runner)
        loader = runner.train_dataloader
        if getattr(loader, 'num_workers', 0) > 0 and getattr(loader, 'persistent_workers', False):
            raise ValueError('CategoryExtrapolationHook: train_dataloader.persistent_workers=True keeps a stale copy '
                             'of the data set in each worker, so the per-epoch auxiliary re-subsampling would never '
                             'reach them; set train_dataloader.persistent_workers=False')
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            runner.logger.warning('CategoryExtrapolationHook: the auxiliary classes are re-subsampled at epoch starts, '
                                  'which an iteration-based loop never has: the first subset is used throughout')

    def before_train_epoch(self, runner) -> None:
        ext = _extrapolation_dataset(runner.train_dataloader.dataset)
        if ext is not None:
            ext.set_epoch(runner.epoch)
