"""``PosthocLogitAdjustHook``: post-hoc logit adjustment (Menon et al., ICLR 2021) at validation / test time.

Subtracts tau * log(pi_c) (pi: the training class prior n_c / N) from the output of ``model.<module>`` (default
``head``: an mmpretrain ``ClsHead`` returns its logits from ``forward``) during val / test only, through a forward hook
that is removed after the epoch, so training, checkpoints and the best-checkpoint file stay unadjusted (same shape as
``VMFCalibrationHook``). ``tau = 0`` is off. To bake the adjustment into a new checkpoint (the bias of the head's last
linear layer), and to choose tau on val, use ``tools/logit_adjust/posthoc_la.py``. See docs/methods.md §8.3.
"""
from __future__ import annotations

import math

import torch
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ltplug.core.counts import ClassCountsError
from ltplug.core.logit_adjust import log_class_prior

from .class_counts import ClassCountsHook
from .eval_time import EvalTimeHook


def resolve_submodule(model, path: str, where: str):
    """``model.<path>`` of a (possibly wrapped) model; a clear error naming ``where`` if absent."""
    if is_model_wrapper(model):
        model = model.module
    try:
        return model.get_submodule(path) if path else model
    except AttributeError as e:
        raise ValueError(f'{where}: the model has no sub-module {path!r} ({e})') from e


@HOOKS.register_module()
class PosthocLogitAdjustHook(EvalTimeHook):
    """logits - tau * log prior at val / test.

    Args:
        tau: strength (0 = off; 1 = the Bayes-optimal correction for a calibrated softmax).
        class_counts: training counts (list or class-count file); default: the run's training set.
        module: dotted path of the sub-module whose output are the logits (``head`` for mmpretrain classifiers).
        on_val / on_test: where to apply it.
    """

    def __init__(self, tau: float = 1.0, class_counts=None, module: str = 'head', on_val: bool = True,
                 on_test: bool = True) -> None:
        tau = float(tau)
        if not math.isfinite(tau):
            raise ValueError(f'PosthocLogitAdjustHook: tau must be a finite number, got {tau}')
        self.tau = tau
        self.module = module
        super().__init__(on_val, on_test)
        self._counts_source = ClassCountsHook(class_counts)
        self.log_prior: torch.Tensor | None = None
        self._handle = None

    def apply(self, runner, stage: str) -> None:
        self.undo()
        if self.tau == 0.0:
            return
        if self.log_prior is None:
            counts = self._counts_source.resolve(runner)
            if counts is None:
                raise ClassCountsError('PosthocLogitAdjustHook needs the per-class training counts: the config has '
                                       'no train_dataloader and the hook got no class_counts=')
            self.log_prior = log_class_prior(counts, where='PosthocLogitAdjustHook class counts')
        target = resolve_submodule(runner.model, self.module, 'PosthocLogitAdjustHook (module=)')
        shift = self.tau * self.log_prior

        def adjust(mod, inputs, output):
            if not isinstance(output, torch.Tensor) or output.shape[-1] != shift.numel():
                raise ValueError(f'PosthocLogitAdjustHook: model.{self.module} must return logits (N, '
                                 f'{shift.numel()}), got {type(output).__name__} '
                                 f'{tuple(getattr(output, "shape", ()))}; set module= to the classifier')
            return output - shift.to(device=output.device, dtype=output.dtype)

        self._handle = target.register_forward_hook(adjust)
        runner.logger.info(f'PosthocLogitAdjustHook: {stage} with logits - {self.tau} * log prior '
                           f'(model.{self.module})')

    def undo(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
