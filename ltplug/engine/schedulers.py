"""mmengine parameter schedulers that reproduce the official per-epoch schedules exactly (root PARAM_SCHEDULERS).

mmengine's ``CosineAnnealingLR(by_epoch=True)`` trains the first epoch at lr0; the OLTR-derived code bases step their
scheduler at the start of each epoch (one-epoch offset), and BCL sets its lr with ``adjust_lr``. Both are computed in
closed form from the group's initial lr (``initial_lr``), so they do not drift and survive resuming; the formulas are in
:mod:`ltplug.core.schedules`. Use them with ``by_epoch=True`` (the default), as the official code does.
"""
from __future__ import annotations

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmengine.registry import PARAM_SCHEDULERS

from ltplug.core.schedules import bcl_lr, oltr_cosine_lr


class _ClosedFormScheduler(_ParamScheduler):
    """A scheduler whose value at step k (0 = ``begin``) is ``formula(k, initial value)`` for every param group."""

    def formula(self, step: int, base_value: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _get_value(self) -> list[float]:
        return [self.formula(self.last_step, base) for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class OffsetCosineAnnealingParamScheduler(_ClosedFormScheduler):
    """Per-epoch cosine with the OLTR one-epoch offset: epoch e at eta_min + (v0 - eta_min)/2 (1 + cos(pi (e+1)/T)).

    Args:
        T_max: T, the number of epochs of the cosine (default: ``end - begin``).
        eta_min: final value (0 in classifier-balancing and vMF-OP).
    """

    def __init__(self, optimizer, param_name: str, T_max: int | None = None, eta_min: float = 0.0, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True, verbose: bool = False) -> None:
        if T_max is None:
            if end == INF:
                raise ValueError('OffsetCosineAnnealing: give T_max (the number of epochs) or a finite end')
            T_max = end - begin
        if T_max < 1:
            raise ValueError(f'OffsetCosineAnnealing: T_max must be >= 1, got {T_max}')
        self.T_max = int(T_max)
        self.eta_min = float(eta_min)
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch,
                         verbose=verbose)

    def formula(self, step: int, base_value: float) -> float:
        return oltr_cosine_lr(step, base_value, self.T_max, self.eta_min)


@PARAM_SCHEDULERS.register_module()
class OffsetCosineAnnealingLR(LRSchedulerMixin, OffsetCosineAnnealingParamScheduler):
    """Learning-rate version of :class:`OffsetCosineAnnealingParamScheduler` (classifier-balancing / vMF-OP)."""


@PARAM_SCHEDULERS.register_module()
class BCLCosineParamScheduler(_ClosedFormScheduler):
    """BCL ``adjust_lr``: v0 (e+1)/W during W warm-up epochs, then v0/2 (1 + cos(pi (e - W + 1)/(E - W + 1))).

    Args:
        num_epochs: E, the training epochs (default: ``end - begin``).
        warmup_epochs: W (0 in the released ImageNet-LT / iNat runs).
    """

    def __init__(self, optimizer, param_name: str, num_epochs: int | None = None, warmup_epochs: int = 0,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False) -> None:
        if num_epochs is None:
            if end == INF:
                raise ValueError('BCLCosine: give num_epochs or a finite end')
            num_epochs = end - begin
        if warmup_epochs < 0 or num_epochs < warmup_epochs:
            raise ValueError(f'BCLCosine: need 0 <= warmup_epochs <= num_epochs, got {warmup_epochs}, {num_epochs}')
        self.num_epochs = int(num_epochs)
        self.warmup_epochs = int(warmup_epochs)
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch,
                         verbose=verbose)

    def formula(self, step: int, base_value: float) -> float:
        return bcl_lr(step, base_value, self.num_epochs, self.warmup_epochs)


@PARAM_SCHEDULERS.register_module()
class BCLCosineLR(LRSchedulerMixin, BCLCosineParamScheduler):
    """Learning-rate version of :class:`BCLCosineParamScheduler`."""
