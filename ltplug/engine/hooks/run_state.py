"""``RunStateHook``: keeps a training run self-contained and resumable bit for bit.

Registered by ``tools/train.py`` on every run; a run built elsewhere (a plain mmengine ``Runner``) gets the same with
``custom_hooks = [dict(type='RunStateHook')]``.
"""
from __future__ import annotations

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import IterBasedTrainLoop

from ltplug.core.sampling import run_seed
from ltplug.engine.checks import check_inside
from ltplug.engine.samplers import seed_global_generators


class _SkippedBatches:
    """A data iterator whose first ``count`` batches were already drawn: those ``next`` calls return None."""

    def __init__(self, iterator, count: int) -> None:
        self.iterator, self.count = iterator, count

    def __iter__(self):
        return self

    def __next__(self):
        if self.count > 0:
            self.count -= 1
            return None
        return next(self.iterator)

    def skip_iter(self, num_iters: int) -> None:
        """onedl-mmengine's loop skips the trained batches with this one call instead of ``next`` calls: the hook has
        drawn them already, so only the count goes down."""
        self.count = max(0, self.count - int(num_iters))


@HOOKS.register_module()
class RunStateHook(Hook):
    """Seeds every epoch / iteration from the run and never touches another run's checkpoints.

    - ``before_train_epoch``: seeds python / numpy / torch from (run seed, epoch, rank), so the augmentation and dropout
      randomness of an epoch does not depend on what ran before it (validation, saving, a resume); iteration-based
      loops are seeded from (run seed, iteration, rank) before every batch is drawn instead (after the previous
      iteration and after a validation; at the start of a resumed run, after skipping the batches already trained);
    - ``after_load_checkpoint``: drops the best / last checkpoint paths a resumed checkpoint recorded outside this
      run's work dir, so mmengine's CheckpointHook never removes another run's files (the best score is kept).
    """

    priority = 'VERY_HIGH'

    @staticmethod
    def by_iter(runner) -> bool:
        return isinstance(getattr(runner, '_train_loop', None), IterBasedTrainLoop)

    @staticmethod
    def seed(runner, step: int) -> None:
        seed_global_generators(run_seed(runner.seed, step, get_rank()))

    def before_train_epoch(self, runner) -> None:
        if not self.by_iter(runner):
            self.seed(runner, runner.epoch)
            return
        if runner.iter > 0:  # resumed: skip the trained batches here, before seeding (the loop's skip is a no-op)
            loop = runner.train_loop
            for _ in range(runner.iter):
                next(loop.dataloader_iterator)
            loop.dataloader_iterator = _SkippedBatches(loop.dataloader_iterator, runner.iter)
        self.seed(runner, runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.by_iter(runner):
            self.seed(runner, runner.iter + 1)  # the loop counts this iteration after the hooks

    def after_val(self, runner) -> None:
        if self.by_iter(runner):
            self.seed(runner, runner.iter)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        info = (checkpoint.get('message_hub') or {}).get('runtime_info') or {}
        for key in [k for k in info if k.startswith('best_ckpt') or k == 'last_ckpt']:
            path = info[key]
            if isinstance(path, str) and not check_inside(path, runner.work_dir):
                del info[key]
                runner.logger.info(f'{key} {path} belongs to another run: this run keeps it and never removes it')
