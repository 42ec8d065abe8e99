"""Long-tailed data samplers (mmengine root ``DATA_SAMPLERS``, usable from every scope).

Four samplers of Kang et al. (ICLR 2020), code-exact forms (docs/methods.md §4.2); the plan maths is in
:mod:`ltplug.core.sampling`:

- ``InstanceBalancedSampler``: a plain shuffle (what the official code does for IB);
- ``ClassBalancedSampler``: the official ``ClassAwareSampler`` (class cycle + ``num_samples_cls`` consecutive items);
- ``PowerSampler(q)`` / ``SquareRootSampler``: i.i.d. with replacement, class probability proportional to n_c^q;
- ``ProgressivelyBalancedSampler``: epoch e (0-based) of E mixes IB and CB with lam = e / (E - 1).

Epoch length: ``num_samples`` items in total over all ranks, by default ``len(dataset)``. With ``drop_last=True`` in the
dataloader an epoch is then int(N / batch) iterations, the official convention (the official class-aware sampler
nominally yields max_c n_c * C items but the training loop stops after int(N / batch) steps).

Distributed: every rank builds the same global plan from (seed, epoch) and takes its own disjoint, equal-length share
(``block_size`` consecutive items dealt round-robin; 1 = interleaved like mmengine's DefaultSampler). The total is
padded up to equal shares (at most world_size * block_size - 1 extra items, drawn from the same stream). ``set_epoch``
(called by ``DistSamplerSeedHook``) selects the epoch. Do not use mmpretrain's repeat-factor ``ClassBalancedDataset``
instead: it is LVIS-style oversampling, a different distribution.
"""
from __future__ import annotations

import random
from collections.abc import Iterator, Sized

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import MessageHub
from mmengine.registry import DATA_SAMPLERS, FUNCTIONS
from torch.utils.data import Sampler

from ltplug.core import sampling
from ltplug.core.counts import dataset_labels


class _PlanSampler(Sampler):
    """Common part: labels, seed, epoch, plan length and the distributed share."""

    def __init__(self, dataset: Sized, seed: int | None = None, num_samples: int | None = None,
                 block_size: int = 1, num_classes: int | None = None) -> None:
        rank, world_size = get_dist_info()
        self.rank, self.world_size = rank, world_size
        self.dataset = dataset
        if seed is None:
            seed = sync_random_seed()
        if int(seed) < 0:
            raise ValueError(f'{type(self).__name__}: seed must be >= 0, got {seed}')
        self.seed = int(seed)
        self.epoch = 0
        if len(dataset) == 0:
            raise ValueError(f'{type(self).__name__}: the data set is empty')
        if num_samples is not None and (int(num_samples) != num_samples or num_samples < 1):
            raise ValueError(f'{type(self).__name__}: num_samples must be a positive integer, got {num_samples!r}')
        self.num_samples_total = int(num_samples) if num_samples is not None else len(dataset)
        if block_size < 1:
            raise ValueError(f'{type(self).__name__}: block_size must be >= 1, got {block_size}')
        self.block_size = int(block_size)
        self.total_size, self.num_samples = sampling.plan_lengths(self.num_samples_total, world_size, self.block_size)
        self.num_classes = num_classes
        self.index = self._build_index()

    def _build_index(self) -> sampling.ClassIndex | None:
        labels = dataset_labels(self.dataset)
        if labels.size != len(self.dataset):
            raise ValueError(f'{type(self).__name__}: the data set has {len(self.dataset)} samples but '
                             f'{labels.size} labels')
        num_classes = self.num_classes
        if num_classes is None:  # the data set's declared classes: an empty last class must not vanish
            classes = (getattr(self.dataset, 'metainfo', None) or {}).get('classes')
            if not classes:
                raise ValueError(f'{type(self).__name__}: {type(self.dataset).__name__} declares no classes '
                                 '(metainfo["classes"]), so a class without samples cannot be told apart from no '
                                 'class; set sampler=dict(..., num_classes=C)')
            num_classes = len(classes)
        try:
            return sampling.build_class_index(labels, num_classes)
        except ValueError as e:
            raise ValueError(f'{type(self).__name__} on {type(self.dataset).__name__}: {e}') from e

    def build_plan(self, epoch: int, length: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def global_plan(self, epoch: int | None = None) -> np.ndarray:
        """The plan of all ranks together for ``epoch`` (default: the current one)."""
        return self.build_plan(self.epoch if epoch is None else int(epoch), self.total_size)

    def __iter__(self) -> Iterator[int]:
        plan = self.global_plan()
        return iter(sampling.shard_plan(plan, self.rank, self.world_size, self.block_size).tolist())

    def __len__(self) -> int:
        """Number of indices this rank yields per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose plan ``__iter__`` yields (``DistSamplerSeedHook`` calls it before every epoch)."""
        self.epoch = int(epoch)


@DATA_SAMPLERS.register_module()
class InstanceBalancedSampler(_PlanSampler):
    """Instance-balanced sampling (q = 1): a plain reshuffle each epoch; ``num_samples`` > N chains permutations."""

    def _build_index(self):
        return None  # labels are not needed

    def build_plan(self, epoch: int, length: int) -> np.ndarray:
        return sampling.instance_balanced_plan(len(self.dataset), length, self.seed, epoch)


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(_PlanSampler):
    """Official ``ClassAwareSampler``: shuffled class cycle, ``num_samples_cls`` consecutive items per visited class.

    A batch of B therefore holds B / num_samples_cls classes. The class cycle and each class's item cycle continue
    across epochs (as the official persistent iterators do) and every epoch starts a new block (as the official
    ``__iter__`` does), also when the epoch length is not a multiple of ``num_samples_cls``.
    """

    def __init__(self, dataset: Sized, num_samples_cls: int = 4, **kwargs) -> None:
        if int(num_samples_cls) < 1:
            raise ValueError(f'ClassBalancedSampler: num_samples_cls must be >= 1, got {num_samples_cls}')
        self.num_samples_cls = int(num_samples_cls)
        super().__init__(dataset, **kwargs)
        sampling.class_balanced_plan(self.index, 1, self.seed, 0, self.num_samples_cls)  # fail early on empty classes

    def build_plan(self, epoch: int, length: int) -> np.ndarray:
        return sampling.class_balanced_plan(self.index, length, self.seed, epoch, self.num_samples_cls)


@DATA_SAMPLERS.register_module()
class PowerSampler(_PlanSampler):
    """i.i.d. sampling with replacement, class probability proportional to n_c^q (official MixedPrioritizedSampler).

    q = 1 is instance-balanced in law, 0.5 square-root, 0 class-balanced (i.i.d., unlike ``ClassBalancedSampler``).
    """

    def __init__(self, dataset: Sized, q: float = 0.5, **kwargs) -> None:
        if not np.isfinite(q):
            raise ValueError(f'PowerSampler: q must be finite, got {q}')
        self.q = float(q)
        super().__init__(dataset, **kwargs)

    def build_plan(self, epoch: int, length: int) -> np.ndarray:
        return sampling.power_plan(self.index, length, self.seed, epoch, self.q)


@DATA_SAMPLERS.register_module()
class SquareRootSampler(PowerSampler):
    """Square-root sampling: ``PowerSampler`` with q = 0.5 (official ``nroot = 2``)."""

    def __init__(self, dataset: Sized, **kwargs) -> None:
        if 'q' in kwargs:
            raise ValueError('SquareRootSampler has q = 0.5 fixed; use PowerSampler for another q')
        super().__init__(dataset, q=0.5, **kwargs)


@DATA_SAMPLERS.register_module()
class ProgressivelyBalancedSampler(_PlanSampler):
    """Progressively-balanced sampling (official ClassPrioritySampler, lam = linspace(0, 1, E)[epoch]).

    The 1st epoch is pure instance-balanced, the E-th pure class-balanced; p_c = (1 - lam) n_c / N + lam / C, a class is
    drawn i.i.d. and the item is the next one of its cyclic, reshuffled list. ``num_epochs`` defaults to the run's
    ``max_epochs`` (read from mmengine's MessageHub when the epoch starts); the official configs tie it to the epochs.
    """

    def __init__(self, dataset: Sized, num_epochs: int | None = None, **kwargs) -> None:
        if num_epochs is not None and int(num_epochs) < 1:
            raise ValueError(f'ProgressivelyBalancedSampler: num_epochs must be >= 1, got {num_epochs}')
        self._num_epochs = None if num_epochs is None else int(num_epochs)
        super().__init__(dataset, **kwargs)
        sampling.progressive_plan(self.index, 1, self.seed, 0, 1)  # fail early on empty classes

    @property
    def num_epochs(self) -> int:
        """E of the lam schedule: the ``num_epochs`` argument, else the run's ``max_epochs``."""
        if self._num_epochs is not None:
            return self._num_epochs
        max_epochs = MessageHub.get_current_instance().get_info('max_epochs')
        if not max_epochs:
            raise ValueError('ProgressivelyBalancedSampler: num_epochs is not set and the run has no max_epochs '
                             '(set sampler=dict(type="ProgressivelyBalancedSampler", num_epochs=...))')
        return int(max_epochs)

    def lam(self, epoch: int | None = None) -> float:
        """lam of a 0-based epoch (default: the current one)."""
        return sampling.progressive_lambda(self.epoch if epoch is None else int(epoch), self.num_epochs)

    def build_plan(self, epoch: int, length: int) -> np.ndarray:
        return sampling.progressive_plan(self.index, length, self.seed, epoch, self.num_epochs)


def seed_global_generators(seed: int) -> None:
    """Seed python's, numpy's and torch's global generators (all devices) from one integer."""
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)


@FUNCTIONS.register_module(name='ltplug_seeded_worker_init')
def seeded_worker_init(worker_id: int) -> None:
    """Dataloader ``worker_init_fn``: seed a worker's python / numpy generators from its torch seed.

    torch seeds each worker with a base seed drawn from the main process's generator when the epoch's iterator is
    created (+ the worker id); with the main generator seeded per epoch (``ltplug.core.sampling.run_seed``) the workers'
    augmentation then differs between epochs and is the same after a resume. (mmengine's default seeds every worker
    identically at every epoch.)
    """
    seed = torch.initial_seed()
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
