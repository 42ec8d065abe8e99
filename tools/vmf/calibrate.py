"""Sweep vMF-OP's post-training calibration alpha on the validation split and write a NEW calibrated checkpoint.

kappa'_c = kappa_c^alpha op'_c^(1 - alpha) (op' = op min-max rescaled into the kappa range; b is kept). The features are
extracted once; every alpha then reuses them with exactly the logits the test uses (VMFClassifier in eval mode), so the
table equals what tools/test.py reports for that checkpoint. The chosen kappa' is stored in the classifier's buffers,
so the calibrated checkpoint costs nothing extra at inference. The input checkpoint is never modified.

Usage:
  python tools/vmf/calibrate.py CONFIG CHECKPOINT [--alphas 1 0.9 ... 0.1] [--split val] [--select all]
                                [--out NEW.pth] [--force] [--no-save] [--json SWEEP.json]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import (  # noqa: E402
    ToolError,
    add_common_args,
    build_model,
    check_new_file,
    extract_features,
    load_config,
    plain_split_loader,
    shot_thresholds,
    single_vmf_classifier,
    train_class_counts,
)

DEFAULT_ALPHAS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)
COLUMNS = ('many', 'medium', 'few', 'all')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Sweep the vMF calibration alpha on val and save a calibrated checkpoint')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--alphas', type=float, nargs='+', default=list(DEFAULT_ALPHAS),
                   help='alpha values in [0, 1] to evaluate (1 = no calibration)')
    p.add_argument('--split', default='val', choices=['val', 'test'], help='dataloader of the config to sweep on')
    p.add_argument('--select', default='all', choices=COLUMNS,
                   help='column that picks the best alpha (ties: the largest alpha, i.e. the least calibration)')
    p.add_argument('--out', help='calibrated checkpoint to write (default: <checkpoint>_vmf-calib.pth)')
    p.add_argument('--force', action='store_true', help='overwrite --out if it exists (never the input checkpoint)')
    p.add_argument('--no-save', action='store_true', help='only print the sweep')
    p.add_argument('--json', help='also write the sweep table to this JSON file')
    p.add_argument('--max-batches', type=int, help='use only the first N batches (quick checks)')
    add_common_args(p)
    args = p.parse_args(argv)
    bad = [a for a in args.alphas if not (0.0 <= a <= 1.0) or math.isnan(a)]
    if bad:
        p.error(f'--alphas must lie in [0, 1], got {bad}')
    return args


def op_description(classifier) -> str:
    """What the calibration statistics op of this classifier are (for the printed report)."""
    from ltplug.core.vmf import OP_SOURCES

    if int(classifier.op_source) == OP_SOURCES.index('icd'):
        return 'op = ICD overlap row means of the last training step'
    if classifier.op_fallback == 'overlap':
        return 'op = overlap row means of the final weights (fallback without ICD)'
    return 'op = b(kappa) of the last training step (official fallback without ICD)'


def class_counts_for(cfg, classifier) -> np.ndarray:
    """Training counts: the classifier's buffer (saved with the checkpoint), else the config's train set."""
    counts = classifier.class_counts.cpu().numpy()
    if (counts > 0).all():
        return counts.astype(np.int64)
    return train_class_counts(cfg, classifier.num_classes)


def sweep(classifier, feats, labels, counts, alphas, many_thr: int, few_thr: int) -> list[dict]:
    """Many / medium / few / all accuracy (percent) for every alpha, from the same features."""
    import torch

    from ltplug.core import shot_metrics

    saved = classifier.calibration_state()
    rows = []
    try:
        with torch.no_grad():
            for alpha in alphas:
                classifier.calibrate(alpha)
                pred = classifier(feats).argmax(dim=1).numpy()
                correct, total = shot_metrics.per_class_correct(pred, labels, classifier.num_classes)
                shots = shot_metrics.shot_accuracies(shot_metrics.per_class_accuracy(correct, total), counts,
                                                     many_thr, few_thr)
                rows.append(dict(alpha=float(alpha), **{k: 100.0 * v for k, v in shots.items()},
                                 all=100.0 * float(np.mean(pred == labels))))
    finally:
        classifier.load_calibration_state(saved)
    return rows


def format_table(rows: list[dict], chosen: float | None = None) -> str:
    lines = [f'{"alpha":>6} | ' + ' | '.join(f'{c:>7}' for c in COLUMNS)]
    lines.append('-' * len(lines[0]))
    for r in rows:
        mark = '  <- chosen' if chosen is not None and r['alpha'] == chosen else ''
        lines.append(f'{r["alpha"]:>6.2f} | ' + ' | '.join(f'{r[c]:>7.2f}' for c in COLUMNS) + mark)
    return '\n'.join(lines)


def choose(rows: list[dict], column: str) -> float:
    best = max(rows, key=lambda r: (round(r[column], 9), r['alpha']))
    return best['alpha']


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import torch

    out = args.out or osp.splitext(args.checkpoint)[0] + '_vmf-calib.pth'
    if not args.no_save:
        check_new_file(out, args.force, '--out', protected=(args.checkpoint,))
    if args.json:
        check_new_file(args.json, args.force, '--json', protected=(args.checkpoint, out))
    cfg = load_config(args)
    model, ckpt = build_model(cfg, args.checkpoint)
    name, classifier = single_vmf_classifier(model, 'tools/vmf/calibrate.py')
    counts = class_counts_for(cfg, classifier)
    many_thr, few_thr = shot_thresholds(cfg)
    feats, labels = extract_features(model, plain_split_loader(cfg, args.split), classifier, args.max_batches)
    feats = torch.from_numpy(feats)
    classifier.eval()
    try:
        rows = sweep(classifier, feats, labels, counts, args.alphas, many_thr, few_thr)
    except ValueError as e:
        raise ToolError(str(e)) from None
    chosen = choose(rows, args.select)
    print(f'vMF calibration sweep on the {args.split} split ({len(labels)} images; many > {many_thr}, few < {few_thr} '
          f'training images; {op_description(classifier)}; best by {args.select!r}):')
    print(format_table(rows, chosen))
    result = dict(rows=rows, alpha=chosen, select=args.select, split=args.split, checkpoint=args.checkpoint)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    if args.no_save:
        return result

    classifier.calibrate(chosen)
    state = ckpt['state_dict'] if 'state_dict' in ckpt else ckpt
    prefix = f'{name}.' if name else ''
    for key, value in classifier.calibration_state().items():
        if prefix + key not in state:
            raise ToolError(f'the checkpoint has no {prefix + key}; was it saved from this model?')
        state[prefix + key] = value.to(state[prefix + key].dtype)
    if not isinstance(ckpt.get('meta'), dict):
        ckpt['meta'] = {}
    ckpt['meta']['vmf_calibration'] = dict(alpha=chosen, select=args.select, split=args.split,
                                   source_checkpoint=osp.abspath(args.checkpoint), sweep=rows)
    tmp = out + '.tmp'
    torch.save(ckpt, tmp)
    os.replace(tmp, out)
    print(f'wrote the calibrated checkpoint (alpha={chosen}) to {out}')
    result['out'] = out
    return result


if __name__ == '__main__':
    main()
