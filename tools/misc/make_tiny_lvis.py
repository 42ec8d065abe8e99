"""Write a tiny synthetic instance-segmentation data set in the LVIS v1 format, with a long-tailed category profile.

Layout (what mmdet's ``LVISV1Dataset`` / ``LVISMetric`` read with ``data_root=OUT``, ``data_prefix=dict(img='')``)::

    OUT/train2017/000000000001.jpg ...          OUT/annotations/lvis_v1_train.json
    OUT/val2017/000000100001.jpg ...            OUT/annotations/lvis_v1_val.json

The JSON files follow LVIS v1: images carry ``coco_url`` (the split folder is taken from it), ``neg_category_ids``
(verified absent categories: a random half of the absent ones) and ``not_exhaustive_category_ids`` (a present category
on about a fifth of the images); annotations have polygon ``segmentation``, ``bbox`` [x, y, w, h] and ``area``;
categories have ``frequency`` (r / c / f), ``image_count`` and ``instance_count`` counted on the training split. The
frequency tags use thresholds scaled to the tiny set (``--rare-max`` / ``--common-max`` training images; LVIS uses
10 / 100).

Training instances per category follow n_c ~ (1/IF)^(c/(C-1)) (at least one each); the validation split has every
category ``--val-per-class`` times. Each category has its own colour and polygon shape (rectangle, triangle, diamond,
octagon), objects do not overlap (one per cell of a 3x3 grid), so masks match what is visible. Deterministic per seed.

Usage: python tools/misc/make_tiny_lvis.py data/tiny_lvis [--num-classes 12] [--train 48] [--val 16] [--size 128]
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ('rectangle', 'triangle', 'diamond', 'octagon')
GRID = 3


def category_names(num_classes: int) -> list[str]:
    """The category names written to the files (and to put in a config's ``metainfo=dict(classes=...)``)."""
    return [f'class_{i:02d}' for i in range(num_classes)]


def polygon(shape: str, x: float, y: float, w: float, h: float) -> list[float]:
    """Flat polygon [x1, y1, ...] of a shape inscribed in the box (x, y, w, h)."""
    if shape == 'rectangle':
        pts = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    elif shape == 'triangle':
        pts = [(x + w / 2, y), (x + w, y + h), (x, y + h)]
    elif shape == 'diamond':
        pts = [(x + w / 2, y), (x + w, y + h / 2), (x + w / 2, y + h), (x, y + h / 2)]
    else:
        t = np.arange(8) * (2 * np.pi / 8) + np.pi / 8
        c = np.cos(np.pi / 8)
        pts = [(x + w / 2 + w / 2 * np.cos(a) / c, y + h / 2 + h / 2 * np.sin(a) / c) for a in t]
        pts = [(min(max(px, x), x + w), min(max(py, y), y + h)) for px, py in pts]
    return [round(float(v), 2) for p in pts for v in p]


def polygon_area(poly: list[float]) -> float:
    xs, ys = np.asarray(poly[0::2]), np.asarray(poly[1::2])
    return float(0.5 * abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))))


def long_tail_counts(total: int, num_classes: int, imb_factor: float) -> np.ndarray:
    profile = (1.0 / imb_factor) ** (np.arange(num_classes) / max(num_classes - 1, 1))
    return np.maximum(1, (total / profile.sum() * profile).astype(np.int64))


def assign(objects: list[int], num_images: int, rng: np.random.Generator) -> list[list[int]]:
    """Spread objects over images, at least one and at most GRID^2 per image."""
    if len(objects) < num_images:
        raise ValueError(f'{len(objects)} objects cannot give each of {num_images} images at least one')
    if len(objects) > num_images * GRID * GRID:
        raise ValueError(f'{len(objects)} objects do not fit into {num_images} images ({GRID * GRID} per image)')
    order = [objects[i] for i in rng.permutation(len(objects))]
    per = [[o] for o in order[:num_images]]
    for o in order[num_images:]:
        free = [i for i in range(num_images) if len(per[i]) < GRID * GRID]
        per[free[int(rng.integers(len(free)))]].append(o)
    return per


def make_split(root: str, split: str, first_id: int, per_image: list[list[int]], size: int, colours: np.ndarray,
               rng: np.random.Generator, ann_id: int) -> tuple[list[dict], list[dict], int]:
    img_dir = osp.join(root, f'{split}2017')
    os.makedirs(img_dir, exist_ok=True)
    cell = size / GRID
    images, anns = [], []
    for k, cats in enumerate(per_image):
        img_id = first_id + k
        img = Image.fromarray(rng.integers(90, 166, size=(size, size, 3), dtype=np.uint8))
        draw = ImageDraw.Draw(img)
        cells = rng.permutation(GRID * GRID)[:len(cats)]
        for cat, cell_idx in zip(cats, cells):
            cy, cx = divmod(int(cell_idx), GRID)
            w, h = rng.uniform(0.55, 0.95, size=2) * cell
            x = cx * cell + rng.uniform(0, cell - w)
            y = cy * cell + rng.uniform(0, cell - h)
            poly = polygon(SHAPES[cat % len(SHAPES)], x, y, w, h)
            draw.polygon(list(zip(poly[0::2], poly[1::2])), fill=tuple(int(v) for v in colours[cat]))
            xs, ys = poly[0::2], poly[1::2]
            bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            anns.append(dict(id=ann_id, image_id=img_id, category_id=cat + 1, segmentation=[poly],
                             area=round(polygon_area(poly), 2), bbox=[round(v, 2) for v in bbox]))
            ann_id += 1
        noisy = np.asarray(img).astype(np.int16) + rng.integers(-12, 13, size=(size, size, 3))
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(osp.join(img_dir, f'{img_id:012d}.jpg'),
                                                                       quality=95)
        images.append(dict(id=img_id, width=size, height=size, license=1, date_captured='2017-01-01 00:00:00',
                           coco_url=f'http://images.cocodataset.org/{split}2017/{img_id:012d}.jpg',
                           flickr_url=f'http://example.invalid/{img_id}.jpg',
                           neg_category_ids=[], not_exhaustive_category_ids=[]))
    return images, anns, ann_id


def federated_labels(images: list[dict], per_image: list[list[int]], num_classes: int,
                     rng: np.random.Generator) -> None:
    """Fill neg_category_ids (half of the absent categories) and not_exhaustive_category_ids (sometimes one present)."""
    for im, cats in zip(images, per_image):
        present = sorted({c + 1 for c in cats})
        absent = [c for c in range(1, num_classes + 1) if c not in present]
        im['neg_category_ids'] = sorted(int(c) for c in rng.permutation(absent)[:len(absent) // 2])
        if rng.random() < 0.2:
            im['not_exhaustive_category_ids'] = [int(present[int(rng.integers(len(present)))])]


def make_tiny_lvis(out_dir: str, num_classes: int = 12, num_train: int = 48, num_val: int = 16, size: int = 128,
                   imb_factor: float = 30.0, objects_per_image: float = 2.5, val_per_class: int = 2,
                   rare_max: int = 2, common_max: int = 10, seed: int = 0) -> dict:
    """Generate the data set; returns the categories written (with the training counts and frequency tags)."""
    if num_classes < 3:
        raise ValueError('--num-classes must be >= 3 (so that r, c and f groups can exist)')
    if size < 64:
        raise ValueError('--size must be >= 64 (mmdet filters images below 32 px; objects need room)')
    if not 0 <= rare_max < common_max:
        raise ValueError('need 0 <= --rare-max < --common-max')
    rng = np.random.default_rng(seed)
    colours = np.random.default_rng(seed + 777).integers(0, 256, size=(num_classes, 3))
    names = category_names(num_classes)

    counts = long_tail_counts(int(round(objects_per_image * num_train)), num_classes, imb_factor)
    train_per = assign([c for c in range(num_classes) for _ in range(int(counts[c]))], num_train, rng)
    val_per = assign([c for c in range(num_classes) for _ in range(val_per_class)], num_val, rng)
    train_imgs, train_anns, next_ann = make_split(out_dir, 'train', 1, train_per, size, colours, rng, 1)
    val_imgs, val_anns, _ = make_split(out_dir, 'val', 100001, val_per, size, colours, rng, next_ann)
    federated_labels(train_imgs, train_per, num_classes, rng)
    federated_labels(val_imgs, val_per, num_classes, rng)

    inst = np.bincount([a['category_id'] - 1 for a in train_anns], minlength=num_classes)
    img_count = np.zeros(num_classes, dtype=np.int64)
    for cats in train_per:
        img_count[sorted(set(cats))] += 1
    freq = np.where(img_count <= rare_max, 'r', np.where(img_count <= common_max, 'c', 'f'))
    categories = [{'id': c + 1, 'name': names[c], 'synset': f'{names[c]}.n.01', 'synonyms': [names[c]],
                   'def': f'synthetic category {c} ({SHAPES[c % len(SHAPES)]})', 'frequency': str(freq[c]),
                   'image_count': int(img_count[c]), 'instance_count': int(inst[c])} for c in range(num_classes)]
    licenses = [dict(id=1, name='synthetic', url='http://example.invalid/')]
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    for split, images, anns in (('train', train_imgs, train_anns), ('val', val_imgs, val_anns)):
        data = dict(info=dict(description=f'tiny synthetic LVIS v1 ({split})', version='1.0', year=2017),
                    licenses=licenses, images=images, annotations=anns, categories=categories)
        with open(osp.join(out_dir, 'annotations', f'lvis_v1_{split}.json'), 'w') as f:
            json.dump(data, f)
    return dict(categories=categories, instance_counts=inst.tolist())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir')
    parser.add_argument('--num-classes', type=int, default=12)
    parser.add_argument('--train', type=int, default=48, help='training images')
    parser.add_argument('--val', type=int, default=16, help='validation images')
    parser.add_argument('--size', type=int, default=128, help='square image side in pixels')
    parser.add_argument('--imb-factor', type=float, default=30.0, help='instance-count ratio head / tail category')
    parser.add_argument('--objects-per-image', type=float, default=2.5)
    parser.add_argument('--val-per-class', type=int, default=2)
    parser.add_argument('--rare-max', type=int, default=2, help='rare: at most this many training images')
    parser.add_argument('--common-max', type=int, default=10, help='common: at most this many; frequent: more')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    out = make_tiny_lvis(args.out_dir, args.num_classes, args.train, args.val, args.size, args.imb_factor,
                         args.objects_per_image, args.val_per_class, args.rare_max, args.common_max, args.seed)
    tags = ''.join(c['frequency'] for c in out['categories'])
    print(f'wrote {args.train} training / {args.val} validation images to {args.out_dir}: {args.num_classes} '
          f'categories, training instances {out["instance_counts"]}, frequency tags {tags}')


if __name__ == '__main__':
    main()
