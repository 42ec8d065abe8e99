"""Generic post-hoc parameter sweep shared by the post-training tools (logit adjustment tau, vMF calibration alpha).

A tool extracts what it needs once (``run_split``: the input or the output of one sub-module, e.g. the vMF
classifier's features or the head's logits), then ``sweep`` evaluates a ``logits_for(value)`` callable for every
value: many / medium / few / all top-1 accuracy (percent) and the ECE of the softmax (percent, 15 equal-width bins),
with the same shot protocol as ``LongTailAccuracy``. A split with no evaluated class is NaN (never 0). ``choose``
picks the best value of a column, ties going to the value closest to the tool's ``neutral`` one (the unchanged model),
``format_table`` prints the table and ``save_new_checkpoint`` writes the result (never in place).
The metrics: docs/methods.md §8.3 and §8.4.
"""
from __future__ import annotations

import math
import os
import os.path as osp
import sys
from collections.abc import Callable, Iterable

import numpy as np

COLUMNS = ('many', 'medium', 'few', 'all', 'ece')


def evaluate_logits(logits, labels: np.ndarray, counts: np.ndarray, many_thr: int, few_thr: int) -> dict[str, float]:
    """Shot accuracies, top-1 and softmax ECE (all percent) of N x C logits (a torch tensor or an array)."""
    import torch

    from ltplug.core import calibration_metrics, shot_metrics

    logits = torch.as_tensor(logits).detach().double()
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    num_classes = int(np.asarray(counts).size)
    if logits.dim() != 2 or logits.shape[1] != num_classes:
        raise ValueError(f'sweep: the model gives {tuple(logits.shape)} scores but the class counts have '
                         f'{num_classes} classes')
    probs = torch.softmax(logits, dim=1).numpy()
    pred = probs.argmax(axis=1)
    correct, total = shot_metrics.per_class_correct(pred, labels, num_classes)
    class_acc = shot_metrics.per_class_accuracy(correct, total)
    shots = shot_metrics.shot_accuracies(class_acc, counts, many_thr, few_thr)
    empty = shot_metrics.empty_splits(class_acc, counts, many_thr, few_thr)
    row = {k: (math.nan if k in empty else 100.0 * v) for k, v in shots.items()}
    row['all'] = 100.0 * float(np.mean(pred == labels))
    row['ece'] = 100.0 * calibration_metrics.expected_calibration_error(probs, labels)
    return row


def sweep(name: str, values: Iterable[float], logits_for: Callable[[float], object], labels: np.ndarray,
          counts: np.ndarray, many_thr: int, few_thr: int) -> list[dict]:
    """One row per value: ``{name: value, many, medium, few, all, ece}``."""
    return [{name: float(v), **evaluate_logits(logits_for(float(v)), labels, counts, many_thr, few_thr)}
            for v in values]


def choose(rows: list[dict], name: str, column: str, neutral: float) -> float:
    """The value with the best ``column`` (highest accuracy, or lowest ECE); ties: the one closest to ``neutral``."""
    if column not in COLUMNS:
        raise ValueError(f'sweep: cannot select by {column!r}; choose one of {COLUMNS}')
    valid = [r for r in rows if not math.isnan(r[column])]
    if not valid:
        raise ValueError(f'sweep: the {column!r} column is empty (no evaluated class in that split); select by another')
    sign = -1.0 if column == 'ece' else 1.0
    best = max(valid, key=lambda r: (round(sign * r[column], 9), -abs(r[name] - neutral)))
    return best[name]


def jsonable(rows: list[dict]) -> list[dict]:
    """The rows with NaN (an empty split) as None, so that the JSON file is standard JSON."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]


def format_table(rows: list[dict], name: str, chosen: float | None = None) -> str:
    """Fixed-width table of the sweep (empty splits print as n/a)."""
    lines = [f'{name:>6} | ' + ' | '.join(f'{c:>7}' for c in COLUMNS)]
    lines.append('-' * len(lines[0]))
    for r in rows:
        mark = '  <- chosen' if chosen is not None and r[name] == chosen else ''
        cells = ' | '.join(f'{"n/a":>7}' if math.isnan(r[c]) else f'{r[c]:>7.2f}' for c in COLUMNS)
        lines.append(f'{r[name]:>6.2f} | {cells}{mark}')
    return '\n'.join(lines)


def run_split(cfg, model, module, split: str, capture: str = 'output', max_batches: int | None = None):
    """Run the config's ``<split>_dataloader`` once through ``model.test_step``; return what ``module`` received
    (``capture='input'``, its first argument) or returned (``'output'``), stacked (N, ...), and the labels (N,)."""
    import torch
    from mmengine.runner import Runner

    key = f'{split}_dataloader'
    if cfg.get(key) is None:
        sys.exit(f'error: the config has no {key}')
    if capture not in ('input', 'output'):
        raise ValueError(f"capture must be 'input' or 'output', got {capture!r}")
    loader = Runner.build_dataloader(cfg[key], seed=0)
    rows, labels = [], []
    if capture == 'input':
        handle = module.register_forward_pre_hook(lambda m, inputs: rows.append(inputs[0].detach().float().cpu()))
    else:
        handle = module.register_forward_hook(lambda m, inputs, out: rows.append(out.detach().float().cpu()))
    try:
        with torch.no_grad():
            for i, batch in enumerate(loader):
                if max_batches is not None and i >= max_batches:
                    break
                outputs = model.test_step(batch)
                labels.append(torch.cat([o.gt_label.reshape(-1).cpu() for o in outputs]))
    finally:
        handle.remove()
    x = torch.cat(rows)
    y = torch.cat(labels).numpy().astype(np.int64)
    if x.shape[0] != y.shape[0]:
        sys.exit(f'error: captured {x.shape[0]} rows for {y.shape[0]} labels (test-time augmentation?); the post-hoc '
                 'tools need one classifier row per sample')
    return x, y


def save_new_checkpoint(ckpt: dict, out: str, meta_key: str, meta: dict) -> None:
    """Write ``ckpt`` with ``meta[meta_key] = meta`` to ``out`` atomically (a temporary file, then a rename); the caller
    has checked with ``check_new_file`` that ``out`` is neither the input nor an existing file."""
    import torch

    if not isinstance(ckpt.get('meta'), dict):
        ckpt['meta'] = {}
    ckpt['meta'][meta_key] = meta
    tmp = out + '.tmp'
    torch.save(ckpt, tmp)
    os.replace(tmp, osp.abspath(out))


def add_output_args(parser, out_help: str) -> None:
    """The output options every post-hoc tool has: --out, --force, --no-save, --json, --max-batches."""
    parser.add_argument('--out', help=out_help)
    parser.add_argument('--force', action='store_true',
                        help='overwrite --out if it exists (never the input checkpoint)')
    parser.add_argument('--no-save', action='store_true', help='only print the sweep')
    parser.add_argument('--json', help='also write the sweep table to this JSON file')
    parser.add_argument('--max-batches', type=int, help='use only the first N batches (quick checks)')


def checked_outputs(args, suffix: str) -> str:
    """The checkpoint to write (``--out`` or ``<checkpoint><suffix>``), after refusing to write over the input or,
    without ``--force``, over an existing ``--out`` / ``--json`` (checked before any work is done)."""
    from _common import check_new_file

    out = args.out or osp.splitext(args.checkpoint)[0] + suffix
    if not args.no_save:
        check_new_file(out, args.force, protected=(args.checkpoint,))
    if args.json:
        check_new_file(args.json, args.force, protected=(args.checkpoint, out))
    return out
