"""tau-normalisation sweep on saved features: pick tau on val, then write a ready TauNormClsHead config + checkpoint.

For every tau in 0..2 (step 0.1, the official ``tau_norm.py`` grid) the joint classifier's weights become
``w_c / ||w_c||^tau`` (bias dropped) and the many / medium / few / all top-1 of the **val** split is printed. The best
tau (highest "all" on val; ties go to the smaller tau) is reported on the test split if the feature file has one, and,
with ``--out-config`` / ``--out-checkpoint``, written as a config inheriting the stage-1 config with
``TauNormClsHead(tau)`` and a checkpoint holding the stage-1 weights (the head keeps ``fc.weight`` / ``fc.bias``).
Existing files are never overwritten unless ``--force``.

Usage:
    python tools/decoupling/tau_sweep.py FEATS.npz [--taus 0:2:0.1] [--many-thr 100 --few-thr 20]
        [--config STAGE1_CONFIG --checkpoint STAGE1_CKPT --out-config taunorm.py --out-checkpoint taunorm.pth] [--force]
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import (  # noqa: E402
    DEFAULT_SHOT_THRESHOLDS,
    FeatureFile,
    ToolError,
    check_new_config,
    check_new_file,
    format_table,
    now,
    read_config,
    read_state_dict,
    shot_row,
    shot_thresholds,
    write_config,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='tau-norm sweep on saved features (pick tau on val)')
    parser.add_argument('features', help='.npz written by tools/decoupling/extract_features.py (needs a val split)')
    parser.add_argument('--taus', default='0:2:0.1', help='start:stop:step (stop included) or a comma list')
    parser.add_argument('--select-split', default='val', choices=('val', 'test'),
                        help='split tau is chosen on (val, as in the paper; never choose on test for reporting)')
    parser.add_argument('--many-thr', type=int, default=None, help='many-shot: n_c > this (default: config or 100)')
    parser.add_argument('--few-thr', type=int, default=None, help='few-shot: n_c < this (default: config or 20)')
    parser.add_argument('--config', help='stage-1 config (the written config inherits it); default: from the features')
    parser.add_argument('--checkpoint', help='stage-1 checkpoint; default: the one the features were extracted from')
    parser.add_argument('--out-config', help='write a TauNormClsHead config with the chosen tau here')
    parser.add_argument('--out-checkpoint', help='write the checkpoint for that config here')
    parser.add_argument('--force', action='store_true', help='overwrite existing output files')
    return parser.parse_args(argv)


def thresholds_for(args: argparse.Namespace, cfg, ff: FeatureFile) -> tuple[int, int]:
    """The command line, else the config's evaluator, else those recorded in the feature file, else 100 / 20."""
    if cfg is not None:
        return shot_thresholds(cfg, args.many_thr, args.few_thr)
    return (args.many_thr if args.many_thr is not None else int(ff.meta.get('many_thr', DEFAULT_SHOT_THRESHOLDS[0])),
            args.few_thr if args.few_thr is not None else int(ff.meta.get('few_thr', DEFAULT_SHOT_THRESHOLDS[1])))


def taus_from_arg(spec: str) -> tuple[float, ...]:
    from ltplug.core.decoupled import parse_taus

    try:
        return parse_taus(spec if ':' in spec else [float(t) for t in spec.split(',') if t.strip()])
    except ValueError as e:
        raise ToolError(f'--taus: {e}') from e


def sweep(feats: np.ndarray, labels: np.ndarray, weight: np.ndarray, taus, class_counts: np.ndarray,
          many_thr: int, few_thr: int) -> list[dict]:
    """One shot row per tau (vectorised predictions for all taus at once)."""
    import torch

    from ltplug.core.decoupled import tau_sweep_predictions

    preds = tau_sweep_predictions(torch.from_numpy(feats), torch.from_numpy(weight), taus).numpy()
    return [shot_row(p, labels, class_counts, many_thr, few_thr) for p in preds]


def best_index(rows: list[dict]) -> int:
    """Highest 'all'; the first (smallest tau) among ties."""
    alls = np.array([r['all'] for r in rows])
    return int(np.flatnonzero(alls == alls.max())[0])


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if bool(args.out_config) != bool(args.out_checkpoint):
        raise ToolError('give both --out-config and --out-checkpoint (the config loads that checkpoint)')
    if args.out_config:  # fail before any work
        check_new_config(args.out_config, args.force)
        check_new_file(args.out_checkpoint, args.force, '--out-checkpoint', protected=(args.features,))
    taus = taus_from_arg(args.taus)
    ff = FeatureFile(args.features)
    config = args.config or ff.meta.get('config')
    checkpoint = args.checkpoint or ff.meta.get('checkpoint')
    cfg = None
    if args.out_config or args.config:
        if not config or not osp.isfile(config):
            raise ToolError(f'stage-1 config not found: {config!r} (pass --config)')
        cfg = read_config(config)
    many_thr, few_thr = thresholds_for(args, cfg, ff)

    state = None
    if args.out_config or 'fc_weight' not in ff.arrays:
        if not checkpoint:
            raise ToolError('no stage-1 checkpoint known (pass --checkpoint)')
        state, _ = read_state_dict(checkpoint)
        if 'head.fc.weight' not in state:
            raise ToolError(f'{checkpoint} has no head.fc.weight: tau-norm needs a linear (LinearClsHead) classifier')
    weight = state['head.fc.weight'].float().numpy() if state is not None else ff.arrays['fc_weight']
    weight = weight.astype(np.float32)
    if state is not None:
        ff.check_source(weight, checkpoint)
    if weight.shape[0] != ff.num_classes:
        raise ToolError(f'the classifier has {weight.shape[0]} classes but {args.features} counts {ff.num_classes}')

    feats, labels = ff.split(args.select_split)
    if feats.shape[1] != weight.shape[1]:
        raise ToolError(f'features of dim {feats.shape[1]} but the classifier expects {weight.shape[1]}')
    rows = sweep(feats, labels, weight, taus, ff.class_counts, many_thr, few_thr)
    best = best_index(rows)
    tau = taus[best]
    print(f'tau sweep on {args.select_split} ({labels.size} images; many > {many_thr}, few < {few_thr} training '
          'images):')
    print(format_table([(f'tau={t:g}' + (' *' if i == best else ''), r) for i, (t, r) in enumerate(zip(taus, rows))],
                       args.select_split))
    print(f'best tau = {tau:g} ({args.select_split} all = {rows[best]["all"]:.2f})')
    result = dict(tau=tau, taus=list(taus), select_split=args.select_split, rows=rows, many_thr=many_thr,
                  few_thr=few_thr)
    if 'test' in ff.splits and args.select_split != 'test':
        tf, tl = ff.split('test')
        test_rows = sweep(tf, tl, weight, (0.0, tau), ff.class_counts, many_thr, few_thr)
        report = [('tau=0', test_rows[0]), (f'tau={tau:g}', test_rows[1])]
        if 'fc_bias' in ff.arrays:  # the joint classifier as trained (with bias), for reference
            joint = (tf @ weight.T + ff.arrays['fc_bias']).argmax(1)
            report.insert(0, ('joint', shot_row(joint, tl, ff.class_counts, many_thr, few_thr)))
        print(format_table(report, 'test'))
        result['test'] = test_rows[1]

    if args.out_config:
        base_head = cfg.model.get('head', {})
        if base_head.get('type') not in ('LinearClsHead', 'TauNormClsHead', 'mmpretrain.LinearClsHead'):
            raise ToolError(f'{config}: model.head is {base_head.get("type")!r}; tau-norm applies to a LinearClsHead')
        import torch

        meta = dict(tau_sweep=dict(tau=tau, select_split=args.select_split, features=osp.abspath(args.features),
                                   source_checkpoint=osp.abspath(checkpoint), date=now(),
                                   table=json.dumps({f'{t:g}': r for t, r in zip(taus, rows)})))
        torch.save({'state_dict': state, 'meta': meta}, args.out_checkpoint)
        write_config(args.out_config, 'tools/decoupling/tau_sweep.py', config, [
            f'tau = {tau:g} chosen on the {args.select_split} split ({args.select_split} all top-1 '
            f'{rows[best]["all"]:.2f}) from {osp.abspath(args.features)}.'],
            f"model = dict(head=dict(type='TauNormClsHead', tau={tau!r}))\n", args.out_checkpoint)
        print(f'wrote {args.out_config} and {args.out_checkpoint}')
    return result


if __name__ == '__main__':
    main()
