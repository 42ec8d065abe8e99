"""Evaluate a checkpoint with an mmpretrain, mmsegmentation or mmdetection config with ltplug registered.

Usage: python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--cfg-options k=v ...]
                            [--launcher pytorch]
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import ToolError, add_common_args, build_runner, load_config, read_checkpoint  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model with ltplug')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file (never overwrites a file)')
    parser.add_argument('--no-strict', action='store_true',
                        help='evaluate even if the checkpoint\'s weights do not match the config\'s model exactly '
                             '(missing weights keep their initialisation)')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    cfg = load_config(args)
    ckpt = read_checkpoint(args.checkpoint)  # a clear error for a missing, empty, truncated or foreign file
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if cfg.get('test_dataloader') is None or cfg.get('test_evaluator') is None:
        raise ToolError(f'{args.config} has no test_dataloader / test_evaluator to evaluate with')
    if args.out is not None:
        if osp.exists(args.out):
            raise ToolError(f'--out {args.out} exists; choose another path (results are never overwritten)')
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ToolError('--out must be a .pkl or .pickle file')
        evaluator = cfg.test_evaluator
        metrics = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        cfg.test_evaluator = metrics + [dict(type='DumpResults', out_file_path=args.out)]
    runner = build_runner(cfg)
    if not args.no_strict:  # mmengine loads non-strictly and only logs a mismatch: check first, name the keys
        from ltplug.engine.checks import CheckpointError, check_checkpoint_fits, checkpoint_state_dict

        try:
            check_checkpoint_fits(getattr(runner.model, 'module', runner.model),
                                  checkpoint_state_dict(ckpt, args.checkpoint), args.checkpoint,
                                  'the model of this config (pass --no-strict to evaluate it anyway)')
        except CheckpointError as e:
            raise ToolError(str(e)) from None
    del ckpt
    return runner.test()


if __name__ == '__main__':
    main()
