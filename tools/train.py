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
from _common import add_common_args, build_runner, load_config  # noqa: E402


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
            sys.exit('error: --amp needs a GPU: mmengine\'s AmpOptimWrapper only trains on gpu/npu/mlu devices '
                     '(this machine has none); drop --amp to train in float32 on the CPU')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            sys.exit(f'error: --amp needs OptimWrapper or AmpOptimWrapper, the config uses {optim_wrapper}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            sys.exit(f'error: --resume checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            sys.exit('error: --auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True
    # Never overwrite the checkpoints of an earlier run silently.
    if not cfg.get('resume', False) and not args.overwrite:
        old = sorted(glob.glob(osp.join(cfg.work_dir, '*.pth')))
        if old:
            sys.exit(f'error: {cfg.work_dir} already holds checkpoints of an earlier run '
                     f'({osp.basename(old[-1])}, ...). '
                     'Pass --resume to continue that run, --work-dir to train into a new directory, or --overwrite to '
                     'replace its checkpoints.')
    return cfg


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cfg = apply_train_args(load_config(args), args)
    runner = build_runner(cfg)
    runner.train()


if __name__ == '__main__':
    main()
