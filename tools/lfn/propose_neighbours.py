"""Propose auxiliary neighbour classes for category extrapolation from a trained checkpoint (writes the JSON map).

Class prototypes (mean of L2-normalised ``pre_logits`` features) are extracted for the target classes (the config's
train set, with the test pipeline) and for every candidate class of a pool data set; a candidate is a neighbour of a
target when their cosine similarity lies inside the open band (default 0.7 < sim < 0.98: close, but not a duplicate),
and tail classes get more neighbours (default 1 / 2 / 3 for many / medium / few). The output is the neighbour-map JSON
that ``CategoryExtrapolationDataset`` reads (candidate ids in the pool data set's label space). Nothing downloads.

Usage:
    python tools/lfn/propose_neighbours.py CONFIG CHECKPOINT --pool-config POOL_CFG --out MAP.json \
        [--band 0.7 0.98] [--num-neighbours 1 2 3] [--many-thr 100] [--few-thr 20] [--exclusive]

``POOL_CFG`` is a config file defining ``neighbour_pool = dict(type=..., ...)`` (a data set config); without it the
``neighbour_pool`` of CONFIG is used. If CONFIG trains on a ``CategoryExtrapolationDataset``, its ``target`` is used.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import (  # noqa: E402
    ToolError,
    build_model,
    check_new_file,
    dataset_pipeline,
    read_config,
    shot_thresholds,
    split_dataset_cfg,
    with_pipeline,
)


def fail(message: str) -> None:
    raise ToolError(message)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Propose neighbour classes (category extrapolation) from a checkpoint')
    p.add_argument('config', help='config of the trained model (its train set gives the target classes)')
    p.add_argument('checkpoint', help='trained checkpoint (a local file)')
    p.add_argument('--pool-config', help='config file defining neighbour_pool = dict(...) (default: CONFIG\'s)')
    p.add_argument('--out', required=True, help='neighbour-map JSON to write')
    p.add_argument('--band', type=float, nargs=2, default=(0.7, 0.98), metavar=('LOW', 'HIGH'),
                   help='open cosine-similarity band of a neighbour (default 0.7 0.98)')
    p.add_argument('--num-neighbours', type=int, nargs=3, default=(1, 2, 3), metavar=('MANY', 'MEDIUM', 'FEW'),
                   help='neighbours per target class by its split (default 1 2 3)')
    p.add_argument('--many-thr', type=int, default=None, help='many if n > this (default: val_evaluator, or 100)')
    p.add_argument('--few-thr', type=int, default=None, help='few if n < this (default: the val_evaluator\'s, or 20)')
    p.add_argument('--exclusive', action='store_true', help='give each candidate to at most one target')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--device', default='cpu')
    p.add_argument('--force', action='store_true', help='overwrite --out if it exists')
    return p.parse_args(argv)


def _unwrap(ds_cfg: dict) -> dict:
    """The target data set config inside wrappers (CategoryExtrapolationDataset, RepeatDataset, ...); a wrapper that
    selects images (LongTailSubset) is the target itself."""
    while True:
        ds_cfg = split_dataset_cfg(ds_cfg)
        if ds_cfg.get('type') != 'CategoryExtrapolationDataset':
            return copy.deepcopy(ds_cfg)
        ds_cfg = ds_cfg['target']


def extract(model, dataset, batch_size: int, device: str):
    """(features (N, d) float64, labels (N,)) of a data set through the model's ``pre_logits`` (GAP if spatial)."""
    import torch
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=pseudo_collate, num_workers=0)
    feats, labels = [], []
    with torch.no_grad():
        for batch in loader:  # batches of a data loader
            data = model.data_preprocessor(batch, False)
            out = model.extract_feat(data['inputs'], stage='pre_logits')
            out = out[-1] if isinstance(out, (tuple, list)) else out
            if out.dim() == 4:
                out = out.mean(dim=(2, 3))
            feats.append(out.double().cpu())
            labels.append(torch.cat([s.gt_label for s in data['data_samples']]).cpu())
    return torch.cat(feats), torch.cat(labels)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if '://' in path:
            fail(f'{what} {path}: only local files (nothing downloads)')
        if not osp.isfile(path):
            fail(f'{what} not found: {path}')
    check_new_file(args.out, args.force, '--out', protected=(args.config, args.checkpoint))

    import numpy as np
    from mmengine.config import Config
    from mmengine.registry import DATASETS

    from ltplug.core.neighbour import class_prototypes, propose_neighbours
    from ltplug.core.shot_metrics import SPLIT_NAMES, shot_split

    cfg = read_config(args.config)
    pool_src = args.pool_config or args.config
    if args.pool_config is not None:
        if not osp.isfile(args.pool_config):
            fail(f'pool config not found: {args.pool_config}')
        pool_cfg = Config.fromfile(args.pool_config).get('neighbour_pool', None)
    else:
        pool_cfg = cfg.get('neighbour_pool', None)
    if not isinstance(pool_cfg, dict):
        fail(f'{pool_src} defines no neighbour_pool = dict(type=..., ...) (the candidate data set)')
    if cfg.get('train_dataloader', None) is None:
        fail(f'{args.config} has no train_dataloader (the target classes come from its train set)')
    test_loader = cfg.get('test_dataloader', None) or cfg.get('val_dataloader', None)
    if test_loader is None:
        fail(f'{args.config} has neither test_dataloader nor val_dataloader (their pipeline is used for extraction)')
    test_pipeline = dataset_pipeline(test_loader['dataset'])

    target_cfg = with_pipeline(_unwrap(cfg.train_dataloader['dataset']), test_pipeline)
    pool_cfg = copy.deepcopy(dict(pool_cfg))
    pool_cfg.setdefault('pipeline', test_pipeline)
    target_set = DATASETS.build(target_cfg)
    pool_set = DATASETS.build(pool_cfg)
    n_tgt = len(target_set.metainfo.get('classes') or []) or int(target_set.get_gt_labels().max()) + 1
    n_pool = len(pool_set.metainfo.get('classes') or []) or int(pool_set.get_gt_labels().max()) + 1

    model, _ = build_model(cfg, args.checkpoint, args.device)

    t_feats, t_labels = extract(model, target_set, args.batch_size, args.device)
    p_feats, p_labels = extract(model, pool_set, args.batch_size, args.device)
    try:
        t_protos = class_prototypes(t_feats, t_labels, n_tgt)
        p_protos = class_prototypes(p_feats, p_labels, n_pool)
    except ValueError as e:
        fail(str(e))
    counts = np.bincount(t_labels.numpy(), minlength=n_tgt)
    many_thr, few_thr = shot_thresholds(cfg, args.many_thr, args.few_thr)
    try:
        nmap, sim = propose_neighbours(t_protos, p_protos, counts, tuple(args.band), args.num_neighbours,
                                       many_thr, few_thr, args.exclusive)
    except ValueError as e:
        fail(str(e))

    pool_names = list(pool_set.metainfo.get('classes') or [str(i) for i in range(n_pool)])
    tgt_names = list(target_set.metainfo.get('classes') or [str(i) for i in range(n_tgt)])
    out = dict(
        neighbours={str(t): auxs for t, auxs in sorted(nmap.items())},
        similarity={str(t): [round(float(sim[t, a]), 6) for a in auxs] for t, auxs in sorted(nmap.items())},
        names={str(t): [tgt_names[t], [pool_names[a] for a in auxs]] for t, auxs in sorted(nmap.items())},
        band=list(args.band), num_neighbours=list(args.num_neighbours), many_thr=many_thr, few_thr=few_thr,
        exclusive=bool(args.exclusive), config=args.config, checkpoint=args.checkpoint,
        pool={k: v for k, v in pool_cfg.items() if k != 'pipeline'},
        created=datetime.datetime.now().isoformat(timespec='seconds'))
    tmp = args.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(out, f, indent=1, default=str)
    os.replace(tmp, args.out)

    split = shot_split(counts, many_thr, few_thr)
    got = np.zeros(n_tgt, dtype=np.int64)
    for t, auxs in nmap.items():
        got[t] = len(auxs)
    used = sorted({a for auxs in nmap.values() for a in auxs})
    print(f'{len(nmap)}/{n_tgt} target classes got neighbours ({len(used)} distinct of {n_pool} candidates); '
          f'band {args.band[0]} < sim < {args.band[1]}')
    for s, name in enumerate(SPLIT_NAMES):
        sel = split == s
        if sel.any():
            print(f'  {name:>6}: {int(sel.sum())} classes, {got[sel].mean():.2f} neighbours on average '
                  f'(asked {args.num_neighbours[s]})')
    in_band = ((sim > args.band[0]) & (sim < args.band[1])).sum().item()
    print(f'  similarity: max {sim.max().item():.3f}, min {sim.min().item():.3f}, {in_band} pairs in the band')
    print(f'wrote {args.out}: use it as neighbour_map=, with model.head.num_classes = {n_tgt} + the number of listed '
          f'auxiliary classes ({len(used)}) = {n_tgt + len(used)} (aux_classes=\'listed\')')


if __name__ == '__main__':
    main()
