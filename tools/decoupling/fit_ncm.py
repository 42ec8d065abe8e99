"""Fit the nearest-class-mean (NCM) classifier on a checkpoint's training features; write a checkpoint + config.

The centroids are the class means of the training features extracted with the test transforms (official
``get_knncentroids`` on ``train_plain``), after the ``--feat-type`` transform (``cl2n`` by default: centre with the
training mean, then L2-normalise; the means are not re-normalised). The written checkpoint is the stage-1 one with
its head replaced by ``NCMClsHead`` buffers (``head.centroids``, ``head.feat_mean``, ``head.fitted``); the written
config inherits the stage-1 config with ``model.head`` replaced.

Usage:
    python tools/decoupling/fit_ncm.py CONFIG CHECKPOINT --out-checkpoint ncm.pth [--out-config ncm.py]
        [--features feats.npz] [--feat-type cl2n|l2n|un] [--dist-type l2|cos] [--report] [--force]

Without ``--features`` the training split is extracted here (``--report`` also extracts val / test to print the
many / medium / few / all table); with it, the saved features are reused.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import (  # noqa: E402
    FeatureFile,
    ToolError,
    build_model,
    check_new_config,
    check_new_file,
    check_train_coverage,
    extract_splits,
    format_table,
    now,
    read_config,
    read_state_dict,
    shot_row,
    shot_thresholds,
    write_config,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from ltplug.core.decoupled import DIST_TYPES, FEAT_TYPES

    parser = argparse.ArgumentParser(description='Fit NCM centroids from a checkpoint\'s training features')
    parser.add_argument('config', help='stage-1 config (the written config inherits it)')
    parser.add_argument('checkpoint', help='stage-1 checkpoint (its backbone + neck give the features)')
    parser.add_argument('--out-checkpoint', required=True, help='checkpoint to write (stage-1 weights + NCM head)')
    parser.add_argument('--out-config', help='NCMClsHead config to write (inherits CONFIG)')
    parser.add_argument('--features', help='reuse a feature file of extract_features.py instead of extracting')
    parser.add_argument('--feat-type', default='cl2n', choices=FEAT_TYPES, help='feature transform (default cl2n)')
    parser.add_argument('--dist-type', default='l2', choices=DIST_TYPES, help='score (default l2)')
    parser.add_argument('--report', action='store_true', help='also extract val/test (without --features) and print')
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--many-thr', type=int, default=None)
    parser.add_argument('--few-thr', type=int, default=None)
    parser.add_argument('--force', action='store_true', help='overwrite existing output files')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    check_new_file(args.out_checkpoint, args.force, '--out-checkpoint', protected=(args.checkpoint,))
    if args.out_config:
        check_new_config(args.out_config, args.force, protected=(args.config,))
    import torch

    from ltplug.core.decoupled import FEAT_TYPES, ncm_centroids, ncm_scores

    cfg = read_config(args.config)
    state, _ = read_state_dict(args.checkpoint)
    if args.features:
        ff = FeatureFile(args.features)
        ff.check_source(state['head.fc.weight'].float().numpy() if 'head.fc.weight' in state else None,
                        args.checkpoint)
        counts = ff.class_counts
        splits = {s: ff.split(s) for s in ff.splits}
        if 'train' not in splits:
            raise ToolError(f'{args.features} has no train split to fit the centroids on')
        check_train_coverage(splits['train'][1], counts)
    else:
        model, _ = build_model(cfg, args.checkpoint, args.device)
        wanted = [s for s in (('train', 'val', 'test') if args.report else ('train',))
                  if s == 'train' or cfg.get(f'{s}_dataloader', None) is not None]
        splits, counts = extract_splits(cfg, model, wanted, args.batch_size)
    num_classes = int(counts.size)
    feats, labels = splits['train']
    try:
        centroids, mean = ncm_centroids(torch.from_numpy(feats).double(), torch.from_numpy(labels), num_classes,
                                        args.feat_type)
    except ValueError as e:
        raise ToolError(f'NCM fit: {e}') from e
    print(f'fitted {num_classes} NCM centroids of dim {feats.shape[1]} (feat_type={args.feat_type}, '
          f'dist_type={args.dist_type}) from {labels.size} training features')

    result = dict(num_classes=num_classes, in_channels=int(feats.shape[1]))
    many_thr, few_thr = shot_thresholds(cfg, args.many_thr, args.few_thr)
    report = []
    for s in ('val', 'test'):
        if s in splits:
            f, lab = splits[s]
            scores = ncm_scores(torch.from_numpy(f).double(), centroids, args.feat_type, args.dist_type, mean)
            result[s] = shot_row(scores.argmax(1).numpy(), lab, counts, many_thr, few_thr)
            report.append((f'NCM {s}', result[s]))
    if report:
        print(format_table(report, 'split'))

    new_state = {k: v for k, v in state.items() if not k.startswith('head.')}
    new_state['head.centroids'] = centroids.float()
    new_state['head.feat_mean'] = mean.float()
    new_state['head.fitted'] = torch.tensor(FEAT_TYPES.index(args.feat_type), dtype=torch.long)
    meta = dict(fit_ncm=dict(feat_type=args.feat_type, dist_type=args.dist_type, date=now(),
                             source_checkpoint=osp.abspath(args.checkpoint),
                             features=osp.abspath(args.features) if args.features else None))
    torch.save({'state_dict': new_state, 'meta': meta}, args.out_checkpoint)
    print(f'wrote {args.out_checkpoint}')
    if args.out_config:
        write_config(args.out_config, 'tools/decoupling/fit_ncm.py', args.config, [
            f'NCM centroids fitted on the training features of {osp.abspath(args.checkpoint)}.'],
            "model = dict(head=dict(_delete_=True, type='NCMClsHead', "
            f'num_classes={num_classes}, in_channels={feats.shape[1]}, feat_type={args.feat_type!r}, '
            f'dist_type={args.dist_type!r}))\n', args.out_checkpoint)
        print(f'wrote {args.out_config}')
    return result


if __name__ == '__main__':
    main()
