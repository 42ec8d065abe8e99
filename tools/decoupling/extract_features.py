"""Run a checkpoint once over the train / val / test splits and save the classifier-input features to an .npz.

The training split is read in order with the **test** transforms (no augmentation), as the official ``--save_feat`` /
``train_plain`` loaders do; the tau sweep and the NCM fit then reuse the file instead of running the network again.

Usage:
    python tools/decoupling/extract_features.py CONFIG CHECKPOINT --out feats.npz [--splits train val test]
        [--batch-size N] [--device cpu] [--force] [--cfg-options k=v ...]

The file holds ``<split>_feats`` (N, d) float32 and ``<split>_labels`` (N,) int64 per split, ``class_counts`` (training
images per class), ``fc_weight`` / ``fc_bias`` when the head has an ``fc`` layer, and a JSON ``meta`` (config,
checkpoint, shot thresholds of the config's evaluator, date).
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import (  # noqa: E402
    SPLITS,
    ToolError,
    build_model,
    check_new_file,
    extract_splits,
    now,
    parse_cfg_options,
    read_config,
    save_features,
    shot_thresholds,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Extract classifier-input features of a checkpoint (decoupling tools)')
    parser.add_argument('config', help='config of the checkpoint (its train/val/test dataloaders are used)')
    parser.add_argument('checkpoint', help='checkpoint file (e.g. the stage-1 joint model)')
    parser.add_argument('--out', required=True, help='output .npz file')
    parser.add_argument('--splits', nargs='+', default=list(SPLITS), choices=SPLITS, help='splits to extract')
    parser.add_argument('--batch-size', type=int, default=None, help='batch size (default: the test dataloader\'s)')
    parser.add_argument('--device', default='cpu', help='torch device (cpu, cuda, cuda:1, ...)')
    parser.add_argument('--force', action='store_true', help='overwrite --out if it exists')
    parser.add_argument('--cfg-options', nargs='+', default=None, metavar='KEY=VALUE',
                        help='override config settings (a.b=c, xxx=[a,b])')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> str:
    args = parse_args(argv)
    if not args.out.endswith('.npz'):
        raise ToolError(f'--out must be an .npz file, got {args.out}')
    check_new_file(args.out, args.force, '--out', protected=(args.checkpoint, args.config))
    cfg = read_config(args.config, parse_cfg_options(args.cfg_options))
    model, _ = build_model(cfg, args.checkpoint, args.device)
    found, counts = extract_splits(cfg, model, args.splits, args.batch_size)
    arrays = {}
    for split, (feats, labels) in found.items():
        arrays[f'{split}_feats'], arrays[f'{split}_labels'] = feats, labels
    num_classes, feat_dim = int(counts.size), int(feats.shape[1])
    arrays['class_counts'] = counts
    fc = getattr(model.head, 'fc', None)
    if fc is not None and hasattr(fc, 'weight'):
        arrays['fc_weight'] = fc.weight.detach().float().cpu().numpy()
        if getattr(fc, 'bias', None) is not None:
            arrays['fc_bias'] = fc.bias.detach().float().cpu().numpy()
    many_thr, few_thr = shot_thresholds(cfg)
    meta = dict(config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint), date=now(),
                num_classes=int(num_classes), feat_dim=int(feat_dim),
                head=type(model.head).__name__, many_thr=many_thr, few_thr=few_thr)
    save_features(args.out, arrays, meta)
    print(f'wrote {args.out}: ' + ', '.join(f'{s} {arrays[f"{s}_feats"].shape}' for s in args.splits if
                                             f'{s}_feats' in arrays) + f', {num_classes} classes')
    return args.out


if __name__ == '__main__':
    main()
