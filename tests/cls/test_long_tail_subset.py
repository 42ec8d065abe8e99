"""LongTailSubset: long-tailed train / balanced val views of balanced mmpretrain data sets (MNIST, CIFAR, folders).

References: counts computed by hand from n_i = int(n_max * (1/IF)^(i/(C-1))), the official ``gen_imbalanced_data`` loop
(global numpy RNG, re-implemented here), and set algebra on the source indices.
"""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from mmpretrain.datasets import CIFAR10, MNIST, CustomDataset
from mmpretrain.registry import DATASETS
from PIL import Image

import ltplug  # noqa: F401
from ltplug.core.counts import dataset_class_counts

PER_CLASS = 120
# n_max 100, IF 10, C 10, computed by hand: 100 * 0.1^(i/9) = 100, 77.4, 59.9, 46.4, 35.9, 27.8, 21.5, 16.7, 12.9, 10
HAND_IF10 = [100, 77, 59, 46, 35, 27, 21, 16, 12, 10]


def _write_idx(path, array: np.ndarray) -> None:
    """An uncompressed unsigned-byte IDX file (magic 0x0000 08 ndim, big-endian dims)."""
    header = bytes([0, 0, 8, array.ndim]) + b''.join(int(d).to_bytes(4, 'big') for d in array.shape)
    with open(path, 'wb') as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope='module')
def mnist_root(tmp_path_factory):
    """A generated MNIST in mmpretrain's decompressed layout: 10 classes x 120 images; pixel (0, 0) = index % 251."""
    root = tmp_path_factory.mktemp('mnist')
    labels = np.random.default_rng(3).permutation(np.repeat(np.arange(10), PER_CLASS))
    images = np.zeros((labels.size, 28, 28), np.uint8)
    images[:, 0, 0] = np.arange(labels.size) % 251
    images[:, 0, 1] = np.arange(labels.size) // 251
    for prefix, n in (('train', labels.size), ('t10k', 20)):
        _write_idx(root / f'{prefix}-images-idx3-ubyte', images[:n])
        _write_idx(root / f'{prefix}-labels-idx1-ubyte', labels[:n])
    return str(root), labels


def mnist(root: str) -> dict:
    return dict(type='MNIST', data_prefix=root, test_mode=False, download=False)


def lt(root: str, **kwargs):
    return DATASETS.build(dict(type='LongTailSubset', dataset=mnist(root), **kwargs))


def test_counts_by_hand_default_head(mnist_root):
    root, labels = mnist_root
    ds = lt(root, imb_factor=10, n_max=100)
    assert ds.get_class_counts().tolist() == HAND_IF10
    assert len(ds) == sum(HAND_IF10) == 403
    assert dataset_class_counts(ds).tolist() == HAND_IF10  # what ClassCountsHook reads
    src = ds.indices
    assert labels[src].tolist() == ds.get_gt_labels().tolist()
    assert [ds.get_data_info(i)['gt_label'] for i in range(len(ds))] == labels[src].tolist()
    assert len(set(src.tolist())) == len(src)


def test_counts_by_hand_non_default_head(mnist_root):
    root, _ = mnist_root
    order = [3, 4, 5, 6, 7, 8, 9, 0, 1, 2]
    ds = lt(root, imb_factor=10, n_max=100, class_order=order)
    # class 3 is the head (100), class 2 the tail (10)
    assert ds.get_class_counts().tolist() == [16, 12, 10, 100, 77, 59, 46, 35, 27, 21]
    rev = lt(root, imb_factor=10, n_max=100, class_order=list(range(9, -1, -1)))
    assert rev.get_class_counts().tolist() == HAND_IF10[::-1]


def test_default_n_max_is_the_smallest_pool(mnist_root):
    root, _ = mnist_root
    ds = lt(root, imb_factor=1, num_val=20)
    assert ds.n_max == PER_CLASS - 20 and ds.get_class_counts().tolist() == [100] * 10


def test_val_is_balanced_and_never_overlaps_train_whatever_the_seed(mnist_root):
    root, _ = mnist_root
    val = lt(root, split='val', imb_factor=10, num_val=20)
    assert val.get_class_counts().tolist() == [20] * 10
    val_set = set(val.indices.tolist())
    trains = [lt(root, imb_factor=1, n_max=100, num_val=20, seed=s) for s in range(4)]
    for tr in trains:  # IF 1 and n_max = pool: every non-val image is in train, none of val
        assert not (set(tr.indices.tolist()) & val_set)
        assert len(set(tr.indices.tolist()) | val_set) == 10 * PER_CLASS
    # the train seed changes which images are kept, never val
    a = lt(root, imb_factor=10, n_max=50, num_val=20, seed=0).indices
    b = lt(root, imb_factor=10, n_max=50, num_val=20, seed=1).indices
    assert set(a.tolist()) != set(b.tolist()) and not ((set(a.tolist()) | set(b.tolist())) & val_set)
    assert np.array_equal(val.indices, lt(root, split='val', imb_factor=3, num_val=20, seed=7).indices)
    other = lt(root, split='val', imb_factor=10, num_val=20, split_seed=1)
    assert set(other.indices.tolist()) != val_set


def official_selection(targets: np.ndarray, counts: list[int], seed: int = 0) -> list[int]:
    """The official gen_imbalanced_data loop on the global numpy RNG (state restored afterwards)."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        selected = []
        for the_class, the_img_num in zip(np.unique(targets), counts):
            idx = np.where(targets == the_class)[0]
            np.random.shuffle(idx)
            selected.extend(idx[:the_img_num].tolist())
        return selected
    finally:
        np.random.set_state(state)


class _UncheckedCIFAR10(CIFAR10):
    """mmpretrain's CIFAR10 on generated pickles (their md5 cannot match the official files)."""

    def _check_integrity(self) -> bool:
        return True


def test_cifar10_reproduces_the_official_indices(tmp_path):
    folder = tmp_path / 'cifar-10-batches-py'
    os.makedirs(folder)
    labels = np.random.default_rng(5).permutation(np.repeat(np.arange(10), 50))
    for b in range(5):
        with open(folder / f'data_batch_{b + 1}', 'wb') as f:
            pickle.dump({'data': np.zeros((100, 3072), np.uint8), 'labels': labels[b * 100:(b + 1) * 100].tolist()}, f)
    with open(folder / 'test_batch', 'wb') as f:
        pickle.dump({'data': np.zeros((10, 3072), np.uint8), 'labels': list(range(10))}, f)
    with open(folder / 'batches.meta', 'wb') as f:
        pickle.dump({'label_names': [str(i) for i in range(10)]}, f)
    base = _UncheckedCIFAR10(data_root=str(tmp_path), split='train', download=False)
    for imb, seed in ((10, 0), (5, 3)):
        ds = DATASETS.build(dict(type='LongTailSubset', dataset=base, imb_factor=imb, seed=seed))
        counts = [int(50 * (1 / imb) ** (i / 9)) for i in range(10)]
        assert ds.indices.tolist() == official_selection(labels, counts, seed)


def test_custom_dataset_folders(tmp_path):
    for c in range(3):
        os.makedirs(tmp_path / f'class{c}')
        for i in range(8):
            Image.fromarray(np.full((4, 4, 3), 10 * c + i, np.uint8)).save(tmp_path / f'class{c}' / f'{i}.png')
    inner = CustomDataset(data_root=str(tmp_path), pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')])
    ds = DATASETS.build(dict(type='LongTailSubset', dataset=inner, imb_factor=4, num_val=2))
    # n_max = 8 - 2 = 6; 6 * (1/4)^(i/2) = 6, 3, 1.5 -> 6, 3, 1
    assert ds.n_max == 6 and ds.get_class_counts().tolist() == [6, 3, 1]
    out = ds[len(ds) - 1]  # the wrapped pipeline runs
    assert int(out['data_samples'].gt_label) == 2 and tuple(out['inputs'].shape) == (3, 4, 4)
    assert ds.metainfo['classes'] == ('class0', 'class1', 'class2')


def test_mnist_object_and_pipeline(mnist_root):
    root, labels = mnist_root
    inner = MNIST(data_prefix=root, test_mode=False, download=False, pipeline=[dict(type='PackInputs')])
    ds = DATASETS.build(dict(type='LongTailSubset', dataset=inner, imb_factor=10, n_max=100))
    item = ds[5]
    src = int(ds.indices[5])
    assert int(item['data_samples'].gt_label) == labels[src]
    pixels = item['inputs'].numpy().reshape(-1)
    assert int(pixels[0]) + 251 * int(pixels[1]) == src


@pytest.mark.parametrize('kwargs,match', [
    (dict(imb_factor='abc'), "imb_factor must be >= 1.*'abc'"),
    (dict(imb_factor=0.01), 'imb_factor must be >= 1'),
    (dict(imb_factor=10, n_max=121), 'n_max=121 asks for 121 images of class 0'),
    (dict(imb_factor=10, n_max=110, num_val=20), 'n_max=110 asks for 110 images of class 0, whose pool has 100'),
    (dict(imb_factor=10, class_order=[0, 1, 2]), 'class_order must list every class index 0..9'),
    (dict(imb_factor=10, split='test'), 'split must be one of'),
    (dict(imb_factor=10, split='val'), 'num_val > 0'),
    (dict(imb_factor=10, num_val=-1), 'num_val must be an integer >= 0'),
    (dict(imb_factor=10, num_val=120), 'not more than num_val=120'),
])
def test_bad_arguments_name_the_key(mnist_root, kwargs, match):
    root, _ = mnist_root
    with pytest.raises(ValueError, match=match):
        lt(root, **kwargs)


def test_held_out_transformed_uses_only_unused_images(mnist_root):
    root, labels = mnist_root
    subset = dict(type='LongTailSubset', dataset=mnist(root), imb_factor=10, n_max=100, num_val=10)
    aux = DATASETS.build(dict(type='HeldOutTransformed', subset=subset, transforms=('rot90', 'vflip'),
                              max_per_class=5))
    train = DATASETS.build(dict(subset, split='train'))
    val = DATASETS.build(dict(subset, split='val'))
    used = set(train.indices.tolist()) | set(val.indices.tolist())
    src = np.array([aux.get_data_info(i)['source_index'] for i in range(len(aux))])
    assert not set(src.tolist()) & used
    assert aux.get_class_counts().tolist() == [5] * 20  # 10 classes x 2 transforms, 5 images each
    assert aux.metainfo['classes'][:2] == ('0 - zero_rot90', '0 - zero_vflip')
    assert np.array_equal(labels[src], aux.get_gt_labels() // 2)  # label = source class * T + transform
    raw = MNIST(data_prefix=root, test_mode=False, download=False)
    for i in (0, 5, len(aux) - 1):
        info = aux.get_data_info(i)
        img = raw.get_data_info(info['source_index'])['img']
        expected = np.rot90(img) if info['gt_label'] % 2 == 0 else img[::-1, :]
        assert np.array_equal(info['img'], expected)
    with pytest.raises(ValueError, match='transforms must be distinct names'):
        DATASETS.build(dict(type='HeldOutTransformed', subset=subset, transforms=('spin',)))


def test_tools_see_the_long_tailed_split_not_the_source(mnist_root):
    """The post-training tools (tau-norm, NCM, post-hoc LA, calibration, neighbours) take the training counts and the
    training images from the config: through resampling wrappers (RepeatDataset) but never through LongTailSubset,
    whose images ARE the split (before the fix they read the balanced source: 120 per class, 1,200 images)."""
    import os.path as osp
    import sys

    from mmengine.config import Config
    from mmpretrain.datasets import MNIST  # noqa: F401  (registers the source type)
    tools = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools')
    sys.path.insert(0, tools)
    import _common as shared

    root, _ = mnist_root
    test_pipeline = [dict(type='PackInputs')]
    lt_cfg = dict(type='LongTailSubset', imb_factor=10, n_max=100,
                  dataset=dict(mnist(root), pipeline=[dict(type='RandomFlip', prob=0.5), dict(type='PackInputs')]))
    cfg = Config(dict(
        default_scope='mmpretrain',
        train_dataloader=dict(batch_size=8, dataset=dict(type='RepeatDataset', times=3, dataset=lt_cfg),
                              sampler=dict(type='DefaultSampler', shuffle=True)),
        test_dataloader=dict(batch_size=8, dataset=dict(mnist(root), pipeline=test_pipeline),
                             sampler=dict(type='DefaultSampler', shuffle=False))))
    assert shared.train_class_counts(cfg, 10).tolist() == HAND_IF10
    loader = shared.plain_split_loader(cfg, 'train')
    assert len(loader.dataset) == sum(HAND_IF10)  # the long-tailed images once, not the repeats, not the source
    assert type(loader.dataset).__name__ == 'LongTailSubset'
    assert loader.dataset.dataset.pipeline.transforms[0].__class__.__name__ == 'PackInputs'  # the test pipeline
