"""Per-class statistics of a long-tailed training set, and the class-count file the heads and losses take.

Sources:
  list FILE [--num-classes C]            an official `path label` list (ImageNet-LT / Places-LT / iNat18 format)
  cifar {10,100} [--imb-factor IF]       CIFAR-LT train split (counts from the official formula, or --data-root to load)
  digits [--imb-factor IF] [--n-max N]   the bundled long-tailed digits (DigitsLT train split)

Prints the per-class counts (all of them with --per-class, else when C <= 100), a text histogram over log2 count bins,
and the many (> many_thr) / medium (few_thr..many_thr, inclusive) / few (< few_thr) split sizes; --out writes the
class-count file (one integer per line, line i = class i), e.g.
  python tools/dataset_converters/lt_stats.py list data/imagenet/ImageNet_LT_train.txt --num-classes 1000 \
      --out data/imagenet/ImageNet_LT_train_counts.txt
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import DEFAULT_SHOT_THRESHOLDS, REPO, check_new_file, shot_thresholds  # noqa: E402

# the data set config whose evaluator sets the digits shot thresholds (scaled to its n_max = 120)
DIGITS_CONFIG = osp.join(REPO, 'configs', '_base_', 'datasets', 'digits_lt.py')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--many-thr', type=int, default=None,
                        help='many-shot: more than this many images (default 100; digits: its evaluator\'s 50)')
    common.add_argument('--few-thr', type=int, default=None,
                        help='few-shot: fewer than this many images (default 20; digits: its evaluator\'s 20)')
    common.add_argument('--out', help='write the class-count file here (one integer per line)')
    common.add_argument('--force', action='store_true', help='overwrite --out if it exists')
    common.add_argument('--per-class', action='store_true', help='print every class count')
    common.add_argument('--allow-empty', action='store_true',
                        help='write the count file even if some class has no image (heads and losses reject it)')
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='source', required=True)
    p_list = sub.add_parser('list', parents=[common], help='a `path label` list file')
    p_list.add_argument('file')
    p_list.add_argument('--num-classes', type=int, help='number of classes (default: largest label + 1)')
    p_cifar = sub.add_parser('cifar', parents=[common], help='CIFAR-10-LT / CIFAR-100-LT train split')
    p_cifar.add_argument('num_classes', type=int, choices=(10, 100))
    p_cifar.add_argument('--imb-factor', type=float, default=100.0)
    p_cifar.add_argument('--data-root', help='load the pickles from here and count (default: the official formula)')
    p_cifar.add_argument('--no-md5', action='store_true', help='with --data-root: skip the md5 check')
    p_digits = sub.add_parser('digits', parents=[common], help='the bundled long-tailed digits (DigitsLT train split)')
    p_digits.add_argument('--imb-factor', type=float, default=20.0)
    p_digits.add_argument('--n-max', type=int, default=120)
    return parser.parse_args(argv)


def counts_from_args(args: argparse.Namespace) -> tuple[np.ndarray, str]:
    """(per-class counts, a description of the source)."""
    if args.source == 'list':
        from ltplug.cls.datasets.list_lt import parse_list_file
        bound = args.num_classes if args.num_classes else np.iinfo(np.int64).max
        _, labels = parse_list_file(args.file, bound)
        num_classes = args.num_classes or int(labels.max()) + 1
        return np.bincount(labels, minlength=num_classes).astype(np.int64), f'list file {args.file}'
    if args.source == 'cifar':
        name = f'CIFAR{args.num_classes}LT'
        if args.data_root:
            from mmpretrain.registry import DATASETS

            import ltplug  # noqa: F401  (registers the datasets)
            ds = DATASETS.build(dict(type=name, data_root=args.data_root, split='train', imb_factor=args.imb_factor,
                                     check_md5=not args.no_md5))
            return ds.get_class_counts(), f'{name} train split loaded from {args.data_root} (IF {args.imb_factor:g})'
        from ltplug.core.sampling import exponential_profile
        n_max = 5000 if args.num_classes == 10 else 500
        return (exponential_profile(n_max, args.imb_factor, args.num_classes),
                f'{name} train split, official formula (n_max {n_max}, IF {args.imb_factor:g})')
    from mmpretrain.registry import DATASETS

    import ltplug  # noqa: F401
    ds = DATASETS.build(dict(type='DigitsLT', split='train', imb_factor=args.imb_factor, n_max=args.n_max))
    return ds.get_class_counts(), f'DigitsLT train split (n_max {args.n_max}, IF {args.imb_factor:g})'


def histogram_lines(counts: np.ndarray, width: int = 50) -> list[str]:
    """Classes per log2 count bin [2^k, 2^(k+1)) as text bars (zero-image classes in their own bin)."""
    lines = []
    zero = int(np.sum(counts == 0))
    positive = counts[counts > 0]
    bins = np.floor(np.log2(positive)).astype(np.int64) if positive.size else np.zeros(0, np.int64)
    hist = np.bincount(bins) if bins.size else np.zeros(0, np.int64)
    peak = max(int(hist.max()) if hist.size else 0, zero, 1)
    if zero:
        lines.append(f'  {"0":>15} | {"#" * max(1, round(width * zero / peak))} {zero}')
    for k, n in enumerate(hist):
        if n == 0:
            continue
        label = f'[{2 ** k}, {2 ** (k + 1)})'
        lines.append(f'  {label:>15} | {"#" * max(1, round(width * int(n) / peak))} {int(n)}')
    return lines


def report(counts: np.ndarray, source: str, many_thr: int, few_thr: int, per_class: bool) -> str:
    """The printed statistics."""
    from ltplug.core.shot_metrics import SPLIT_NAMES, shot_split

    split = shot_split(counts, many_thr, few_thr)
    sizes = np.bincount(split, minlength=3)
    images = np.bincount(split, weights=counts, minlength=3).astype(np.int64)
    positive = counts[counts > 0]
    ratio = f'{positive.max() / positive.min():.1f}' if positive.size else 'n/a'
    out = [f'source: {source}',
           f'classes: {counts.size}   images: {int(counts.sum())}   max: {int(counts.max())}   '
           f'min: {int(counts.min())}   imbalance (max/min): {ratio}',
           f'splits (many > {many_thr}, medium {few_thr}..{many_thr}, few < {few_thr}):']
    for i, name in enumerate(SPLIT_NAMES):
        out.append(f'  {name:>6}: {int(sizes[i]):6d} classes {int(images[i]):9d} images')
    out.append('histogram (classes per training-count bin):')
    out.extend(histogram_lines(counts))
    if per_class or counts.size <= 100:
        peak = max(int(counts.max()), 1)
        out.append('per-class counts:')
        out.extend(f'  {c:5d}: {int(n):7d} {"#" * round(40 * int(n) / peak)}' for c, n in enumerate(counts))
    return '\n'.join(out)


def thresholds(args: argparse.Namespace) -> tuple[int, int]:
    """The command line, else (digits) the thresholds of the digits evaluator, else the papers' 100 / 20."""
    if args.source == 'digits':
        from mmengine.config import Config

        return shot_thresholds(Config.fromfile(DIGITS_CONFIG), args.many_thr, args.few_thr)
    return (args.many_thr if args.many_thr is not None else DEFAULT_SHOT_THRESHOLDS[0],
            args.few_thr if args.few_thr is not None else DEFAULT_SHOT_THRESHOLDS[1])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.many_thr, args.few_thr = thresholds(args)
    if args.out:
        check_new_file(args.out, args.force, '--out')
    if args.few_thr > args.many_thr + 1:
        print(f'error: --few-thr {args.few_thr} must be <= --many-thr + 1', file=sys.stderr)
        return 2
    try:
        counts, source = counts_from_args(args)
    except (ValueError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(report(counts, source, args.many_thr, args.few_thr, args.per_class))
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        print(f'warning: {empty.size} class(es) have no training image (first: {empty[:10].tolist()})', file=sys.stderr)
    if args.out:
        if empty.size and not args.allow_empty:
            print(f'error: not writing {args.out}: classes without images make log priors / class-balanced sampling '
                  'undefined (fix --num-classes or the list, or pass --allow-empty)', file=sys.stderr)
            return 1
        with open(args.out, 'w') as f:
            f.write(''.join(f'{int(n)}\n' for n in counts))
        print(f'class counts written to {args.out} ({counts.size} lines)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
