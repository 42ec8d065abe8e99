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
import math
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import _common as tc  # noqa: E402

DEFAULT_ALPHAS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Sweep the vMF calibration alpha on val and save a calibrated checkpoint')
    p.add_argument('config')
    p.add_argument('checkpoint')
    tc.add_sweep_args(p, 'alpha', DEFAULT_ALPHAS, 'alpha values in [0, 1] to evaluate (1 = no calibration)',
                   'the alpha closest to 1, i.e. the least calibration',
                   'calibrated checkpoint to write (default: <checkpoint>_vmf-calib.pth)')
    tc.add_common_args(p)
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
    return tc.train_class_counts(cfg, classifier.num_classes)


def calibrated_logits(classifier, feats):
    """``alpha -> logits`` of the classifier in eval mode calibrated with alpha (exactly the test-time logits)."""
    import torch

    def logits_for(alpha: float):
        classifier.calibrate(alpha)
        with torch.no_grad():
            return classifier(feats)
    return logits_for


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import torch

    out = tc.checked_outputs(args, '_vmf-calib.pth')
    cfg = tc.load_config(args)
    model, ckpt = tc.build_model(cfg, args.checkpoint)
    name, classifier = tc.single_vmf_classifier(model, 'tools/vmf/calibrate.py')
    counts = class_counts_for(cfg, classifier)
    feats, labels = tc.extract_features(model, tc.plain_split_loader(cfg, args.split), classifier, args.max_batches)
    feats = torch.from_numpy(feats)
    classifier.eval()
    saved = classifier.calibration_state()
    try:
        result = tc.run_sweep(args, cfg, 'alpha', calibrated_logits(classifier, feats), labels, counts, neutral=1.0,
                              what='vMF calibration sweep', note=f'{op_description(classifier)}; ')
    finally:
        classifier.load_calibration_state(saved)
    if args.no_save:
        return result

    classifier.calibrate(result['alpha'])
    state = ckpt['state_dict'] if 'state_dict' in ckpt else ckpt
    prefix = f'{name}.' if name else ''
    for key, value in classifier.calibration_state().items():
        if prefix + key not in state:
            raise tc.ToolError(f'the checkpoint has no {prefix + key}; was it saved from this model?')
        state[prefix + key] = value.to(state[prefix + key].dtype)
    result = tc.save_new_checkpoint(ckpt, out, 'vmf_calibration', result)
    print(f'wrote the calibrated checkpoint (alpha={result["alpha"]}) to {out}')
    return result


if __name__ == '__main__':
    main()
