"""Evaluate a checkpoint with an mmpretrain, mmsegmentation or mmdetection config with ltplug registered.

Usage: python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--cfg-options k=v ...]
                            [--launcher pytorch]
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import add_common_args, build_runner, load_config  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model with ltplug')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file (never overwrites a file)')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        sys.exit(f'error: checkpoint not found: {args.checkpoint}')
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if cfg.get('test_dataloader') is None or cfg.get('test_evaluator') is None:
        sys.exit(f'error: {args.config} has no test_dataloader / test_evaluator to evaluate with')
    if args.out is not None:
        if osp.exists(args.out):
            sys.exit(f'error: --out {args.out} exists; choose another path (results are never overwritten)')
        if not args.out.endswith(('.pkl', '.pickle')):
            sys.exit('error: --out must be a .pkl or .pickle file')
        evaluator = cfg.test_evaluator
        metrics = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        cfg.test_evaluator = metrics + [dict(type='DumpResults', out_file_path=args.out)]
    runner = build_runner(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
