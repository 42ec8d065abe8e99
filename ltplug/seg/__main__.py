"""Command-line helpers of the mmseg adapter.

    python -m ltplug.seg pixel-counts CONFIG [--out FILE]   per-class training pixel counts (a class-count file)
"""
from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m ltplug.seg', description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('pixel-counts', help="count the training pixels per class of a config's train set")
    p.add_argument('config')
    p.add_argument('--out', help='class-count file to write (default: print one count per line)')
    p.add_argument('--num-workers', type=int, default=4)
    args = parser.parse_args(argv)

    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope

    import ltplug  # noqa: F401
    from ltplug.seg.pixel_counts import dataset_pixel_counts, write_counts_file

    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    counts, _ = dataset_pixel_counts(dataset, cache_dir=None, num_workers=args.num_workers)
    if args.out:
        write_counts_file(args.out, counts, [f'per-class training pixel counts of {args.config}'])
        print(f'wrote {counts.size} class counts to {args.out}')
    else:
        print('\n'.join(str(int(c)) for c in counts))


if __name__ == '__main__':
    main()
