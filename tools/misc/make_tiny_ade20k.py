"""Write a tiny synthetic data set in the ADE20K (ADEChallengeData2016) format, with a long-tailed class profile.

Layout (what mmseg's ``ADE20KDataset`` reads, ``reduce_zero_label=True``)::

    OUT/images/training/ADE_train_00000001.jpg      OUT/annotations/training/ADE_train_00000001.png
    OUT/images/validation/ADE_val_00000001.jpg      OUT/annotations/validation/ADE_val_00000001.png
    OUT/train_pixel_counts.txt                      (class-count file computed here from the label arrays)

Annotation PNGs are single-channel uint8: 0 = unlabelled ("other", ignored after reduce_zero_label), v in 1..C = class
v-1. Every image has a "stuff" background from the first ``--stuff`` classes (wall, building, sky, ... in ADE20K, the
most frequent ones), an optional unlabelled strip, and objects of the remaining classes drawn as rectangles / ellipses.
In the training split the number of objects of class c follows the exponential profile n_c ~ (1/IF)^(c/(C-1)) (class
index = frequency rank, as in ADE20K), at least one object each; every class is guaranteed to keep visible pixels. The
validation split has every object class ``--val-per-class`` times (balanced). Each class has its own colour and stripe
texture, so a small network can learn it. Deterministic for a given ``--seed``.

Usage: python tools/misc/make_tiny_ade20k.py data/tiny_ade20k [--num-classes 150] [--train 64] [--val 24] [--size 64]
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

import numpy as np
from PIL import Image


def class_appearance(num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class RGB colour, stripe orientation and stripe period."""
    rng = np.random.default_rng(seed + 12345)
    colours = rng.integers(30, 226, size=(num_classes, 3)).astype(np.float64)
    angles = rng.uniform(0, np.pi, size=num_classes)
    periods = rng.uniform(3.0, 9.0, size=num_classes)
    return colours, angles, periods


def render(label: np.ndarray, colours: np.ndarray, angles: np.ndarray, periods: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    """RGB image for a label map (values 0..C; 0 = unlabelled, drawn as grey noise)."""
    h, w = label.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cls = np.clip(label.astype(np.int64) - 1, 0, None)
    phase = (xx * np.cos(angles[cls]) + yy * np.sin(angles[cls])) * (2 * np.pi / periods[cls])
    shade = 0.8 + 0.2 * np.sin(phase)
    img = colours[cls] * shade[..., None]
    img[label == 0] = 128.0
    img += rng.normal(0.0, 8.0, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def draw_object(label: np.ndarray, value: int, rng: np.random.Generator, min_size: int, max_size: int) -> None:
    """Paint one rectangle or ellipse of ``value`` at a random place."""
    h, w = label.shape
    oh, ow = rng.integers(min_size, max_size + 1, size=2)
    y0, x0 = rng.integers(0, max(1, h - oh + 1)), rng.integers(0, max(1, w - ow + 1))
    if rng.random() < 0.5:
        label[y0:y0 + oh, x0:x0 + ow] = value
    else:
        yy, xx = np.mgrid[0:h, 0:w]
        cy, cx = y0 + (oh - 1) / 2.0, x0 + (ow - 1) / 2.0
        inside = ((yy - cy) / (oh / 2.0)) ** 2 + ((xx - cx) / (ow / 2.0)) ** 2 <= 1.0
        label[inside] = value


def long_tail_object_counts(num_objects: int, num_thing: int, imb_factor: float) -> np.ndarray:
    """n_i = max(1, int(n_max (1/IF)^(i/(K-1)))) for the K object classes, n_max chosen for ~num_objects in total."""
    profile = (1.0 / imb_factor) ** (np.arange(num_thing) / max(num_thing - 1, 1))
    n_max = num_objects / profile.sum()
    return np.maximum(1, (n_max * profile).astype(np.int64))


def make_split(num_images: int, object_classes: list[int], num_classes: int, num_stuff: int, size: int,
               rng: np.random.Generator, stuff_weights: np.ndarray) -> list[np.ndarray]:
    """Label maps (values 0..C) for one split; ``object_classes`` (0-based) are spread over the images."""
    order = rng.permutation(len(object_classes))
    per_image = [[] for _ in range(num_images)]
    for k, idx in enumerate(order):
        per_image[k % num_images].append(object_classes[idx])
    labels = []
    for i in range(num_images):
        lab = np.full((size, size), 1 + rng.choice(num_stuff, p=stuff_weights), dtype=np.uint8)
        if rng.random() < 0.5:  # an unlabelled strip ("other" in ADE20K, ignored in training and evaluation)
            t = int(rng.integers(size // 8, size // 4 + 1))
            if rng.random() < 0.5:
                lab[:t] = 0
            else:
                lab[:, size - t:] = 0
        for c in per_image[i]:
            draw_object(lab, c + 1, rng, max(3, size // 10), max(4, size // 3))
        labels.append(lab)
    return labels


def ensure_present(labels: list[np.ndarray], classes: list[int], rng: np.random.Generator) -> None:
    """Paint a small patch for every class in ``classes`` that lost all its pixels to occlusion."""
    present = np.zeros(256, dtype=bool)
    for lab in labels:
        present[np.unique(lab)] = True
    size = labels[0].shape[0]
    patch = max(2, size // 16)
    for c in classes:
        if not present[c + 1]:
            lab = labels[int(rng.integers(len(labels)))]
            y, x = rng.integers(0, size - patch, size=2)
            lab[y:y + patch, x:x + patch] = c + 1


def write_split(root: str, split: str, prefix: str, labels: list[np.ndarray], appearance, rng) -> None:
    img_dir = osp.join(root, 'images', split)
    ann_dir = osp.join(root, 'annotations', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    for i, lab in enumerate(labels, 1):
        name = f'{prefix}_{i:08d}'
        Image.fromarray(render(lab, *appearance, rng)).save(osp.join(img_dir, name + '.jpg'), quality=95)
        Image.fromarray(lab).save(osp.join(ann_dir, name + '.png'))


def make_tiny_ade20k(out_dir: str, num_classes: int = 150, num_train: int = 64, num_val: int = 24, size: int = 64,
                     imb_factor: float = 50.0, objects_per_image: float = 6.0, num_stuff: int = 5,
                     val_per_class: int = 1, seed: int = 0) -> np.ndarray:
    """Generate the data set; returns the per-class training pixel counts (reduce_zero_label applied)."""
    if not 2 <= num_classes <= 254:
        raise ValueError(f'--num-classes must be in [2, 254] (uint8 maps, 0 = unlabelled), got {num_classes}')
    if not 1 <= num_stuff < num_classes:
        raise ValueError(f'--stuff must be in [1, num_classes), got {num_stuff}')
    if num_train < 1 or num_val < 1 or size < 16:
        raise ValueError('need at least one training and one validation image of size >= 16')
    rng = np.random.default_rng(seed)
    appearance = class_appearance(num_classes, seed)
    thing = list(range(num_stuff, num_classes))
    stuff_w = (1.0 / 4.0) ** (np.arange(num_stuff) / max(num_stuff - 1, 1))
    stuff_w /= stuff_w.sum()

    n_obj = long_tail_object_counts(int(round(objects_per_image * num_train)), len(thing), imb_factor)
    train_objects = [c for c, n in zip(thing, n_obj) for _ in range(int(n))]
    train = make_split(num_train, train_objects, num_classes, num_stuff, size, rng, stuff_w)
    ensure_present(train, list(range(num_classes)), rng)
    val_objects = [c for c in thing for _ in range(val_per_class)]
    val = make_split(num_val, val_objects, num_classes, num_stuff, size, rng, np.full(num_stuff, 1.0 / num_stuff))
    write_split(out_dir, 'training', 'ADE_train', train, appearance, rng)
    write_split(out_dir, 'validation', 'ADE_val', val, appearance, rng)

    raw = np.bincount(np.concatenate([lab.ravel() for lab in train]), minlength=num_classes + 1)
    counts = raw[1:num_classes + 1].astype(np.int64)  # reduce_zero_label: value v > 0 is class v - 1; 0 is ignored
    with open(osp.join(out_dir, 'train_pixel_counts.txt'), 'w') as f:
        f.write('# per-class training pixel counts (line i = class i), computed by make_tiny_ade20k.py\n')
        f.write('\n'.join(str(int(c)) for c in counts) + '\n')
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir')
    parser.add_argument('--num-classes', type=int, default=150, help='C (150 = ADE20K, so the stock metainfo applies)')
    parser.add_argument('--train', type=int, default=64, help='training images')
    parser.add_argument('--val', type=int, default=24, help='validation images')
    parser.add_argument('--size', type=int, default=64, help='square image side in pixels')
    parser.add_argument('--imb-factor', type=float, default=50.0, help='object-count ratio head / tail class')
    parser.add_argument('--objects-per-image', type=float, default=6.0)
    parser.add_argument('--stuff', type=int, default=5, help='number of background ("stuff") classes')
    parser.add_argument('--val-per-class', type=int, default=1)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    counts = make_tiny_ade20k(args.out_dir, args.num_classes, args.train, args.val, args.size, args.imb_factor,
                              args.objects_per_image, args.stuff, args.val_per_class, args.seed)
    print(f'wrote {args.train} training / {args.val} validation images to {args.out_dir}: {counts.size} classes, '
          f'training pixels max {counts.max()} / min {counts.min()} (ratio {counts.max() / max(counts.min(), 1):.0f})')


if __name__ == '__main__':
    main()
