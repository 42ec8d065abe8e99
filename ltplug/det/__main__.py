"""Command-line helpers of the mmdet adapter.

    python -m ltplug.det check-lvis FILE [FILE ...] [--require-counts]   check LVIS v1 annotation files
    python -m ltplug.det class-counts CONFIG [--source annotations] [--out FILE]   per-class training instance counts
"""
from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m ltplug.det', description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('check-lvis', help='check LVIS v1 annotation files')
    p.add_argument('files', nargs='+')
    p.add_argument('--require-counts', action='store_true', help='categories must have image/instance counts')
    p = sub.add_parser('class-counts', help="per-class instance counts of a config's training set")
    p.add_argument('config')
    p.add_argument('--source', default='annotations', choices=('annotations', 'instance_count', 'image_count'))
    p.add_argument('--repeat-aware', action='store_true')
    p.add_argument('--out', help='class-count file to write (default: print one count per line)')
    args = parser.parse_args(argv)

    import ltplug  # noqa: F401

    if args.command == 'check-lvis':
        from ltplug.det.lvis_format import load_lvis_json
        for path in args.files:
            data = load_lvis_json(path, require_counts=args.require_counts)
            print(f'{path}: OK ({len(data["images"])} images, {len(data["annotations"])} annotations, '
                  f'{len(data["categories"])} categories)')
        return
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope

    from ltplug.det.class_counts import det_class_counts

    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    counts = det_class_counts(DATASETS.build(cfg.train_dataloader.dataset), args.source, args.repeat_aware)
    text = '\n'.join(str(int(c)) for c in counts) + '\n'
    if args.out:
        with open(args.out, 'w') as f:
            f.write(f'# per-class training instance counts ({args.source}) of {args.config}\n' + text)
        print(f'wrote {counts.size} class counts to {args.out}')
    else:
        print(text, end='')


if __name__ == '__main__':
    main()
