"""Post-hoc logit adjustment (Menon et al., ICLR 2021): sweep tau on val and write a NEW adjusted checkpoint.

Adjusted logits are z - tau * log(pi_c), pi the training class prior. The head's logits are captured once on the
chosen split; every tau then reuses them, so the table equals what ``tools/test.py`` reports for the adjusted
checkpoint. The chosen adjustment is baked into the bias of the head's last linear layer (b' = b - tau log pi: exact,
and free at inference); a head without such a bias (cosine, vMF) cannot be baked: use ``PosthocLogitAdjustHook`` in
the config instead. The input checkpoint is never modified; ``--out`` must be a new file (or ``--force``).
Conventions and choices: docs/methods.md §8.3.

Usage:
  python tools/logit_adjust/posthoc_la.py CONFIG CHECKPOINT [--taus 0 0.25 ... 2] [--split val] [--select all]
                                          [--out NEW.pth] [--force] [--no-save] [--json SWEEP.json]
"""
from __future__ import annotations

import argparse
import json
import math
import os.path as osp
import sys

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path[:0] = [TOOLS]  # the shared tool helpers
import _posthoc_sweep as ps  # noqa: E402
from _common import add_common_args, build_model, load_config, shot_thresholds  # noqa: E402

DEFAULT_TAUS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Sweep the post-hoc logit-adjustment tau on val, save an adjusted '
                                'checkpoint')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--taus', type=float, nargs='+', default=list(DEFAULT_TAUS),
                   help='tau values to evaluate (0 = no adjustment)')
    p.add_argument('--split', default='val', choices=['val', 'test'], help='dataloader of the config to sweep on')
    p.add_argument('--select', default='all', choices=ps.COLUMNS,
                   help='column that picks the best tau (ties: the smallest |tau|, i.e. the least adjustment)')
    p.add_argument('--class-counts', help='class-count file (default: the config\'s training set)')
    ps.add_output_args(p, 'adjusted checkpoint to write (default: <checkpoint>_la.pth)')
    add_common_args(p)
    args = p.parse_args(argv)
    bad = [t for t in args.taus if not math.isfinite(t)]
    if bad:
        p.error(f'--taus must be finite numbers, got {bad}')
    return args


def find_bias_layer(head):
    """(name, module) of the head's last ``nn.Linear`` with a bias (the layer whose bias the tool rewrites)."""
    import torch.nn as nn

    linears = [(n, m) for n, m in head.named_modules() if isinstance(m, nn.Linear) and m.bias is not None]
    return linears[-1] if linears else (None, None)


def training_counts(cfg, args, num_classes: int):
    from ltplug.core.counts import check_class_counts, dataset_class_counts, load_class_counts

    if args.class_counts:
        return check_class_counts(load_class_counts(args.class_counts), num_classes, where=args.class_counts)
    if cfg.get('train_dataloader') is None:
        sys.exit('error: the config has no train_dataloader to count the class prior from; pass --class-counts FILE')
    from mmengine.registry import DATASETS
    return dataset_class_counts(DATASETS.build(cfg.train_dataloader.dataset), num_classes)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    out = ps.checked_outputs(args, '_la.pth')
    cfg = load_config(args)
    model, ckpt = build_model(cfg, args.checkpoint)
    if not hasattr(model, 'head'):
        sys.exit('error: tools/logit_adjust/posthoc_la.py expects an mmpretrain classifier with model.head')
    layer_name, layer = find_bias_layer(model.head)
    if layer is None and not args.no_save:
        sys.exit('error: the head has no linear layer with a bias to bake the adjustment into (cosine / vMF heads); '
                 'use --no-save to choose tau, then PosthocLogitAdjustHook(tau=...) in custom_hooks')
    from ltplug.core.logit_adjust import log_class_prior

    logits, labels = ps.run_split(cfg, model, model.head, args.split, 'output', args.max_batches)
    counts = training_counts(cfg, args, logits.shape[1])
    log_prior = log_class_prior(counts, where='tools/logit_adjust/posthoc_la.py class counts')
    many_thr, few_thr = shot_thresholds(cfg)
    try:
        rows = ps.sweep('tau', args.taus, lambda tau: logits - tau * log_prior, labels, counts, many_thr, few_thr)
        chosen = ps.choose(rows, 'tau', args.select, neutral=0.0)
    except ValueError as e:
        sys.exit(f'error: {e}')
    print(f'post-hoc logit adjustment on the {args.split} split ({len(labels)} images; many > {many_thr}, few < '
          f'{few_thr} training images; best by {args.select!r}):')
    print(ps.format_table(rows, 'tau', chosen))
    result = dict(rows=rows, tau=chosen, select=args.select, split=args.split, checkpoint=args.checkpoint)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({**result, 'rows': ps.jsonable(rows)}, f, indent=1)
    if args.no_save:
        return result

    key = f'head.{layer_name}.bias'
    state = ckpt['state_dict'] if 'state_dict' in ckpt else ckpt
    if key not in state or state[key].shape != log_prior.shape:
        sys.exit(f'error: the checkpoint has no {key} of {log_prior.numel()} classes; was it saved from this model?')
    state[key] = (state[key].double() - chosen * log_prior.double()).to(state[key].dtype)
    ps.save_new_checkpoint(ckpt, out, 'posthoc_logit_adjustment', dict(
        tau=chosen, select=args.select, split=args.split, layer=key, class_counts=[int(c) for c in counts],
        source_checkpoint=osp.abspath(args.checkpoint), sweep=rows))
    print(f'wrote the adjusted checkpoint (tau={chosen}, {key} -= tau * log prior) to {out}')
    result['out'] = out
    return result


if __name__ == '__main__':
    main()
