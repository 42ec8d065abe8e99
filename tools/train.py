"""Train a model from an mmpretrain, mmsegmentation or mmdetection config with ltplug registered.

Usage: python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options k=v ...]
                             [--launcher pytorch]
"""
from __future__ import annotations

import argparse
import glob
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (  # noqa: E402
    ToolError,
    add_common_args,
    build_runner,
    check_checkpoint_file,
    load_config,
    read_checkpoint,
    seeded_train_loader,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model (mmpretrain / mmseg / mmdet config) with ltplug')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or from the latest one in the work dir')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision training')
    parser.add_argument('--no-validate', action='store_true', help='do not evaluate checkpoints during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual batch size (auto_scale_lr)')
    parser.add_argument('--overwrite', action='store_true',
                        help='allow training into a work dir that already holds checkpoints of another run')
    add_common_args(parser)
    return parser.parse_args(argv)


def apply_train_args(cfg, args: argparse.Namespace):
    """Fold the command-line switches into the config the way the OpenMMLab train tools do."""
    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise ToolError('--amp needs a GPU: mmengine\'s AmpOptimWrapper only trains on gpu/npu/mlu devices '
                            '(this machine has none); drop --amp to train in float32 on the CPU')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ToolError(f'--amp needs OptimWrapper or AmpOptimWrapper, the config uses {optim_wrapper}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise ToolError(f'--resume checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ToolError('--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True
    # Never overwrite the checkpoints of an earlier run silently: only a resume of this work dir's own run may write
    # into a work dir that holds checkpoints (resuming another run's checkpoint starts a new run here).
    from ltplug.engine.checks import check_inside

    own_run = args.resume == 'auto' or (args.resume is not None and check_inside(args.resume, cfg.work_dir))
    if not own_run and not args.overwrite:
        old = sorted(glob.glob(osp.join(cfg.work_dir, '*.pth')))
        if old:
            raise ToolError(f'{cfg.work_dir} already holds checkpoints of an earlier run '
                            f'({osp.basename(old[-1])}, ...). '
                            'Pass --resume to continue that run, --work-dir to train into a new directory, or '
                            '--overwrite to replace its checkpoints.')
    seeded_train_loader(cfg)
    return cfg


def resume_checkpoint(cfg) -> str | None:
    """The checkpoint a resume will read (the given one, or the latest of the work dir), or None."""
    if not cfg.get('resume', False):
        return None
    if cfg.get('load_from', None):
        return cfg.load_from
    from mmengine.runner import find_latest_checkpoint

    return find_latest_checkpoint(cfg.work_dir) if osp.isdir(cfg.work_dir) else None


def check_before_training(runner, resume_from: str | None, resume_ckpt: dict | None) -> None:
    """Errors a run would otherwise hit deep inside the first step: a checkpoint written by another model, or a head
    with fewer classes than the training data."""
    from ltplug.engine.checks import (
        CheckpointError,
        ConfigValueError,
        check_checkpoint_fits,
        check_num_classes,
        checkpoint_state_dict,
    )

    try:
        if resume_from is not None:
            state = checkpoint_state_dict(resume_ckpt, resume_from)
            check_checkpoint_fits(getattr(runner.model, 'module', runner.model), state, resume_from,
                                  'the model of this config (--resume needs the config it was trained with)')
        check_num_classes(runner.model, runner.train_dataloader.dataset)
    except (CheckpointError, ConfigValueError) as e:
        raise ToolError(str(e)) from None
    loader = runner.train_dataloader
    if resume_from is not None and getattr(loader, 'persistent_workers', False) and loader.num_workers > 0:
        runner.logger.warning('train_dataloader.persistent_workers=True: the workers\' random state lives in their '
                              'processes and is not in the checkpoint, so the augmentation of this resumed run '
                              'differs from an uninterrupted one (set persistent_workers=False for an exact resume)')


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cfg = apply_train_args(load_config(args), args)
    resume_from = resume_checkpoint(cfg)
    # a clear error for a missing, empty, truncated or foreign file before anything is built
    resume_ckpt = read_checkpoint(resume_from) if resume_from is not None else None
    if resume_from is None and cfg.get('load_from', None) and '://' not in cfg.load_from:
        check_checkpoint_file(cfg.load_from)  # fine-tuning loads non-strictly (stage 2 swaps the head): file only
    from ltplug.engine.hooks import RunStateHook

    runner = build_runner(cfg)
    if not any(isinstance(h, RunStateHook) for h in runner.hooks):  # unless the config's custom_hooks have it
        runner.register_hook(RunStateHook())
    check_before_training(runner, resume_from, resume_ckpt)
    del resume_ckpt
    runner.train()


if __name__ == '__main__':
    main()
