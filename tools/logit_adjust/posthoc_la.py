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
import math
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import _common as tc  # noqa: E402

DEFAULT_TAUS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Sweep the post-hoc logit-adjustment tau on val, save an adjusted '
                                'checkpoint')
    p.add_argument('config')
    p.add_argument('checkpoint')
    tc.add_sweep_args(p, 'tau', DEFAULT_TAUS, 'tau values to evaluate (0 = no adjustment)',
                   'the smallest |tau|, i.e. the least adjustment',
                   'adjusted checkpoint to write (default: <checkpoint>_la.pth)')
    p.add_argument('--class-counts', help='class-count file (default: the config\'s training set)')
    tc.add_common_args(p)
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


def training_counts(cfg, args, num_classes: int) -> np.ndarray:
    """The class prior's counts: ``--class-counts`` FILE, else the config's training set."""
    from ltplug.core.counts import check_class_counts, load_class_counts

    if args.class_counts:
        return check_class_counts(load_class_counts(args.class_counts), num_classes, where=args.class_counts)
    return tc.train_class_counts(cfg, num_classes)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    out = tc.checked_outputs(args, '_la.pth')
    cfg = tc.load_config(args)
    model, ckpt = tc.build_model(cfg, args.checkpoint)
    if not hasattr(model, 'head'):
        raise tc.ToolError('tools/logit_adjust/posthoc_la.py expects an mmpretrain classifier with model.head')
    layer_name, layer = find_bias_layer(model.head)
    if layer is None and not args.no_save:
        raise tc.ToolError('the head has no linear layer with a bias to bake the adjustment into (cosine / vMF '
                           'heads); use --no-save to choose tau, then PosthocLogitAdjustHook(tau=...) in custom_hooks')
    import torch

    from ltplug.core.logit_adjust import log_class_prior

    logits, labels = tc.extract_features(model, tc.plain_split_loader(cfg, args.split), model.head,
                                         args.max_batches, capture='output')
    logits = torch.from_numpy(logits)
    counts = training_counts(cfg, args, logits.shape[1])
    log_prior = log_class_prior(counts, where='tools/logit_adjust/posthoc_la.py class counts')
    result = tc.run_sweep(args, cfg, 'tau', lambda tau: logits - tau * log_prior, labels, counts, neutral=0.0,
                          what='post-hoc logit adjustment')
    if args.no_save:
        return result

    tau, key = result['tau'], f'head.{layer_name}.bias'
    state = ckpt['state_dict'] if 'state_dict' in ckpt else ckpt
    if key not in state or state[key].shape != log_prior.shape:
        raise tc.ToolError(f'the checkpoint has no {key} of {log_prior.numel()} classes; was it saved from this model?')
    state[key] = (state[key].double() - tau * log_prior.double()).to(state[key].dtype)
    result = tc.save_new_checkpoint(ckpt, out, 'posthoc_logit_adjustment', result, layer=key,
                                    class_counts=[int(c) for c in counts])
    print(f'wrote the adjusted checkpoint (tau={tau}, {key} -= tau * log prior) to {out}')
    return result


if __name__ == '__main__':
    main()
