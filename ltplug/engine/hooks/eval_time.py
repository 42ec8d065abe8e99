"""``EvalTimeHook``: the base of the hooks that change the model for validation / testing only.

Each val / test epoch (as ``on_val`` / ``on_test`` ask) starts with :meth:`EvalTimeHook.apply` and ends with
:meth:`EvalTimeHook.undo`, so training continues from, and checkpoints store, the trained model. NORMAL priority runs
before ``CheckpointHook`` (VERY_LOW) saves a best checkpoint after validation, so no checkpoint is written in the
changed state. Subclasses: ``VMFCalibrationHook``, ``PosthocLogitAdjustHook``.
"""
from __future__ import annotations

from mmengine.hooks import Hook


class EvalTimeHook(Hook):
    """Apply a change before each val / test epoch (``on_val`` / ``on_test``) and undo it right after."""

    priority = 'NORMAL'

    def __init__(self, on_val: bool = True, on_test: bool = True) -> None:
        self.on_val = bool(on_val)
        self.on_test = bool(on_test)

    def apply(self, runner, stage: str) -> None:
        """Change the model for ``stage`` ('validation' or 'test')."""
        raise NotImplementedError

    def undo(self) -> None:
        """Restore the trained model (a no-op when nothing is applied)."""
        raise NotImplementedError

    def before_val_epoch(self, runner) -> None:
        if self.on_val:
            self.apply(runner, 'validation')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.undo()

    def before_test_epoch(self, runner) -> None:
        if self.on_test:
            self.apply(runner, 'test')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self.undo()
