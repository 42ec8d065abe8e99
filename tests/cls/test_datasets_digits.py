"""DigitsLT: the bundled long-tailed digits (real scikit-learn data, deterministic split)."""
from __future__ import annotations

import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS
from sklearn.datasets import load_digits

import ltplug  # noqa: F401
from ltplug.core.counts import dataset_class_counts, dataset_labels

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DIGITS_CFG = osp.join(REPO, 'configs/_base_/datasets/digits_lt.py')


def build(**kwargs):
    return DATASETS.build(dict(type='DigitsLT', **kwargs))


def naive_profile(n_max, imb_factor, c=10):
    out = []
    for i in range(c):
        out.append(int(n_max * (1.0 / imb_factor) ** (i / (c - 1.0))))
    return out


def raw_indices(ds):
    return np.array([ds.get_data_info(i)['raw_index'] for i in range(len(ds))])


@pytest.mark.parametrize('imb_factor,n_max', [(20, 120), (10, 100), (1, 50)])
def test_train_counts_follow_the_profile(imb_factor, n_max):
    ds = build(split='train', imb_factor=imb_factor, n_max=n_max)
    expected = naive_profile(n_max, imb_factor)
    assert ds.get_class_counts().tolist() == expected
    assert len(ds) == sum(expected)
    labels = np.array([ds.get_data_info(i)['gt_label'] for i in range(len(ds))])
    assert np.bincount(labels, minlength=10).tolist() == expected
    assert ds.get_gt_labels().tolist() == labels.tolist()
    assert dataset_class_counts(ds).tolist() == expected
    assert dataset_labels(ds).tolist() == labels.tolist()


def test_default_profile_head_is_class_zero():
    counts = build(split='train').get_class_counts()
    assert counts[0] == 120 and counts[-1] == int(120 / 20)
    assert np.all(np.diff(counts) <= 0)


def test_val_test_balanced_and_splits_disjoint():
    tr, va, te = (build(split=s) for s in ('train', 'val', 'test'))
    assert va.get_class_counts().tolist() == [10] * 10
    assert te.get_class_counts().tolist() == [40] * 10
    a, b, c = raw_indices(tr), raw_indices(va), raw_indices(te)
    assert len(set(a)) == len(a) and len(set(b)) == len(b) and len(set(c)) == len(c)
    assert not (set(a) & set(b)) and not (set(a) & set(c)) and not (set(b) & set(c))
    # the train split is the head of each class's pool: a larger n_max keeps a superset
    bigger = raw_indices(build(split='train', imb_factor=1, n_max=124))
    assert set(a) <= set(bigger)
    assert not (set(bigger) & (set(b) | set(c)))


def test_split_is_deterministic_and_seeded():
    a = raw_indices(build(split='test', split_seed=0))
    assert np.array_equal(a, raw_indices(build(split='test', split_seed=0)))
    assert not np.array_equal(np.sort(a), np.sort(raw_indices(build(split='test', split_seed=1))))


@pytest.mark.parametrize('seed', [1, 2, 7])
def test_train_seed_never_moves_val_or_test_into_training(seed):
    """Issue 16.3: a second run with another train seed must not train on the default split's val / test images."""
    val, test = set(raw_indices(build(split='val'))), set(raw_indices(build(split='test')))
    train = build(split='train', seed=seed)
    a = set(raw_indices(train))
    assert not a & val and not a & test
    assert train.get_class_counts().tolist() == naive_profile(120, 20)
    assert a != set(raw_indices(build(split='train')))  # the seed does pick other train images
    # the same val / test whatever the train seed
    assert set(raw_indices(build(split='test', seed=seed))) == test


def test_default_seeds_keep_the_earlier_split():
    """seed == split_seed lists the pool in carve-out order: the single-seed split of the README's numbers."""
    labels = load_digits().target
    rng = np.random.default_rng(0)
    perm = rng.permutation(labels.size)
    order = perm[np.argsort(labels[perm], kind='stable')]
    expected = []
    for c in range(10):  # per class: 10 val, 40 test, then the first n_c of the rest
        members = [i for i in order.tolist() if labels[i] == c]
        expected += members[50:50 + naive_profile(120, 20)[c]]
    assert raw_indices(build(split='train')).tolist() == expected


def test_images_are_rescaled_replicated_uint8():
    ds = build(split='val')
    digits = load_digits()
    for i in (0, 17, len(ds) - 1):
        info = ds.get_data_info(i)
        img = info['img']
        assert img.dtype == np.uint8 and img.shape == (8, 8, 3)
        assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 0], img[..., 2])
        raw = digits.images[info['raw_index']]
        assert np.array_equal(img[..., 0], np.rint(raw * 255.0 / 16.0).astype(np.uint8))
        assert info['gt_label'] == digits.target[info['raw_index']]


def test_mmpretrain_pipeline_applies():
    ds = build(split='train', pipeline=[dict(type='RandomCrop', crop_size=8, padding=1), dict(type='PackInputs')])
    out = ds[3]
    assert tuple(out['inputs'].shape) == (3, 8, 8)
    assert int(out['data_samples'].gt_label) == ds.get_data_info(3)['gt_label']


def test_bad_arguments_fail_clearly():
    with pytest.raises(ValueError, match='n_max=125 exceeds.*124'):
        build(split='train', n_max=125)
    with pytest.raises(ValueError, match="split must be one of"):
        build(split='validation')
    with pytest.raises(ValueError, match='imb_factor must be >= 1'):
        build(split='train', imb_factor=0.05)
    with pytest.raises(ValueError, match="DigitsLT: imb_factor must be >= 1.*got 'abc'"):
        build(split='train', imb_factor='abc')


def test_indices_and_subset_keep_labels_consistent():
    ds = build(split='train', indices=50)
    assert len(ds) == 50 and ds.get_class_counts().sum() == 50
    full = build(split='train')
    sub = full.get_subset([400, 0, 130])
    assert sub.get_gt_labels().tolist() == [full.get_data_info(i)['gt_label'] for i in (400, 0, 130)]
    assert full.get_cat_ids(400) == [full.get_data_info(400)['gt_label']]


def test_base_config_builds_and_has_the_true_pixel_statistics():
    cfg = Config.fromfile(DIGITS_CFG)
    assert cfg.train_dataloader.dataset.type == 'DigitsLT'
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(train) == sum(naive_profile(120, 20))
    pixels = np.rint(load_digits().images * 255.0 / 16.0)
    assert cfg.data_preprocessor.mean == pytest.approx([pixels.mean()] * 3, abs=0.01)
    assert cfg.data_preprocessor.std == pytest.approx([pixels.std()] * 3, abs=0.01)
    assert cfg.val_evaluator.type == 'LongTailAccuracy'
