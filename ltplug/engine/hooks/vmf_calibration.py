"""Post-training vMF calibration during validation / testing (root HOOKS: mmpretrain, mmseg and mmdet scopes).

The hook finds every :class:`ltplug.core.vmf.VMFClassifier` inside ``runner.model`` (classification head, segmentation
decode head, detection bbox head), precomputes kappa' = kappa^alpha op'^(1 - alpha) before each validation / test epoch
and restores the trained state right after it, so training continues from, and checkpoints store, the uncalibrated
classifier. It runs at NORMAL priority, i.e. before ``CheckpointHook`` (VERY_LOW) saves a best checkpoint after
validation, so no checkpoint on disk is ever written in the calibrated state by this hook (the best checkpoint is
*selected* by the calibrated metric). To bake a calibration into a new checkpoint, use ``tools/vmf/calibrate.py``.
"""
from __future__ import annotations

import math

from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ltplug.core.vmf import VMFClassifier

from .eval_time import EvalTimeHook


def find_vmf_classifiers(model) -> list[tuple[str, VMFClassifier]]:
    """(name, module) of every VMFClassifier inside a (possibly wrapped) model."""
    if is_model_wrapper(model):
        model = model.module
    return [(name, m) for name, m in model.named_modules() if isinstance(m, VMFClassifier)]


@HOOKS.register_module()
class VMFCalibrationHook(EvalTimeHook):
    """Apply vMF-OP's zero-cost calibration with ``alpha`` during val / test, then restore the trained classifier.

    Args:
        alpha: interpolation weight in [0, 1]; 1.0 (the default) is off: the hook then changes nothing, and a
            checkpoint calibrated by ``tools/vmf/calibrate.py`` keeps its calibration.
        on_val / on_test: where to apply it.
    """

    def __init__(self, alpha: float = 1.0, on_val: bool = True, on_test: bool = True) -> None:
        alpha = float(alpha)
        if math.isnan(alpha) or not 0.0 <= alpha <= 1.0:
            raise ValueError(f'VMFCalibrationHook: alpha must be in [0, 1] (1 = off), got {alpha}')
        self.alpha = alpha
        super().__init__(on_val, on_test)
        self._saved: list[tuple[VMFClassifier, dict]] = []

    def apply(self, runner, stage: str) -> None:
        if self.alpha == 1.0:
            return
        found = find_vmf_classifiers(runner.model)
        if not found:
            raise ValueError('VMFCalibrationHook (custom_hooks): runner.model contains no VMFClassifier '
                             '(use VMFClsHead, VMFDecodeHead or VMFShared2FCBBoxHead in the model); remove the hook '
                             'or fix the model config')
        self.undo()
        for _, module in found:
            self._saved.append((module, module.calibration_state()))
            module.calibrate(self.alpha)
        runner.logger.info(f'VMFCalibrationHook: {stage} with calibrated kappa (alpha={self.alpha}) in '
                           f'{", ".join(n or "<model>" for n, _ in found)}')

    def undo(self) -> None:
        for module, state in reversed(self._saved):
            module.load_calibration_state(state)
        self._saved = []
