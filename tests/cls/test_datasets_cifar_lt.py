"""CIFAR-10-LT / CIFAR-100-LT on generated pickles of the standard python format (5000 / 500 images per class)."""
from __future__ import annotations

import os
import os.path as osp
import pickle

import numpy as np
import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS

import ltplug  # noqa: F401
from ltplug.core.sampling import exponential_profile

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _images(n, offset):
    """n zero CIFAR rows (3072 bytes, CHW) whose first two bytes encode the global image index."""
    data = np.zeros((n, 3072), np.uint8)
    idx = np.arange(offset, offset + n)
    data[:, 0], data[:, 1] = idx // 256, idx % 256
    return data


def _decode(img_hwc):
    return int(img_hwc[0, 0, 0]) * 256 + int(img_hwc[0, 1, 0])


@pytest.fixture(scope='module')
def cifar_roots(tmp_path_factory):
    rng = np.random.default_rng(0)
    root10 = tmp_path_factory.mktemp('cifar10')
    labels10 = rng.permutation(np.repeat(np.arange(10), 5000))
    os.makedirs(root10 / 'cifar-10-batches-py')
    for b in range(5):
        with open(root10 / 'cifar-10-batches-py' / f'data_batch_{b + 1}', 'wb') as f:
            pickle.dump({'data': _images(10000, 10000 * b), 'labels': labels10[b * 10000:(b + 1) * 10000].tolist()}, f)
    with open(root10 / 'cifar-10-batches-py' / 'test_batch', 'wb') as f:
        pickle.dump({'data': _images(10000, 0), 'labels': np.repeat(np.arange(10), 1000).tolist()}, f)
    root100 = tmp_path_factory.mktemp('cifar100')
    labels100 = rng.permutation(np.repeat(np.arange(100), 500))
    os.makedirs(root100 / 'cifar-100-python')
    with open(root100 / 'cifar-100-python' / 'train', 'wb') as f:
        pickle.dump({'data': _images(50000, 0), 'fine_labels': labels100.tolist(),
                     'coarse_labels': (labels100 // 5).tolist()}, f)
    with open(root100 / 'cifar-100-python' / 'test', 'wb') as f:
        pickle.dump({'data': _images(10000, 0), 'fine_labels': np.tile(np.arange(100), 100).tolist()}, f)
    return {'CIFAR10LT': (str(root10), labels10), 'CIFAR100LT': (str(root100), labels100)}


def official_selection(targets, cls_num, imb_factor_fraction):
    """The official get_img_num_per_cls + gen_imbalanced_data, with the global numpy RNG (state restored)."""
    state = np.random.get_state()
    try:
        img_max = len(targets) / cls_num
        img_num_per_cls = [int(img_max * (imb_factor_fraction ** (i / (cls_num - 1.0)))) for i in range(cls_num)]
        np.random.seed(0)
        selected = []
        for the_class, the_img_num in zip(np.unique(targets), img_num_per_cls):
            idx = np.where(targets == the_class)[0]
            np.random.shuffle(idx)
            selected.extend(idx[:the_img_num].tolist())
        return selected, img_num_per_cls
    finally:
        np.random.set_state(state)


@pytest.mark.parametrize('name,num_classes,total', [('CIFAR10LT', 10, 12406), ('CIFAR100LT', 100, 10847)])
def test_train_split_is_the_official_subsample(cifar_roots, name, num_classes, total):
    root, labels = cifar_roots[name]
    ds = DATASETS.build(dict(type=name, data_root=root, split='train', imb_factor=100, check_md5=False))
    assert len(ds) == total
    selected, per_cls = official_selection(labels, num_classes, 0.01)
    assert ds.get_class_counts().tolist() == per_cls
    got = [_decode(ds.get_data_info(i)['img']) for i in range(len(ds))]
    assert got == selected  # the same images, in the same (class-grouped) order
    assert ds.get_gt_labels().tolist() == labels[selected].tolist()
    assert per_cls[0] == (5000 if num_classes == 10 else 500) and per_cls[-1] == per_cls[0] // 100


@pytest.mark.parametrize('name', ['CIFAR10LT', 'CIFAR100LT'])
def test_test_split_is_the_balanced_original(cifar_roots, name):
    root, _ = cifar_roots[name]
    ds = DATASETS.build(dict(type=name, data_root=root, split='test', check_md5=False,
                             pipeline=[dict(type='PackInputs')]))
    assert len(ds) == 10000
    assert len(set(ds.get_class_counts().tolist())) == 1
    assert [_decode(ds.get_data_info(i)['img']) for i in (0, 1, 9999)] == [0, 1, 9999]
    assert tuple(ds[5]['inputs'].shape) == (3, 32, 32)


def test_published_totals_for_other_imbalance_factors():
    expect = {(5000, 10, 50): 13996, (5000, 10, 10): 20431, (500, 100, 50): 12608, (500, 100, 10): 19573}
    for (n_max, c, imb), total in expect.items():
        assert int(exponential_profile(n_max, imb, c).sum()) == total


def test_imbalance_factor_50_on_disk(cifar_roots):
    root, labels = cifar_roots['CIFAR100LT']
    ds = DATASETS.build(dict(type='CIFAR100LT', data_root=root, imb_factor=50, check_md5=False))
    selected, per_cls = official_selection(labels, 100, 0.02)
    assert len(ds) == 12608 and ds.get_class_counts().tolist() == per_cls


def test_missing_files_and_md5_fail_clearly(cifar_roots, tmp_path):
    with pytest.raises(FileNotFoundError, match='cifar-10-batches-py/data_batch_1 not found.*nothing is downloaded'):
        DATASETS.build(dict(type='CIFAR10LT', data_root=str(tmp_path)))
    with pytest.raises(ValueError, match='download=True is not supported'):
        DATASETS.build(dict(type='CIFAR10LT', data_root=str(tmp_path), download=True))
    root, _ = cifar_roots['CIFAR100LT']
    with pytest.raises(ValueError, match='md5'):
        DATASETS.build(dict(type='CIFAR100LT', data_root=root, split='test'))
    with pytest.raises(ValueError, match='imb_factor must be >= 1'):
        DATASETS.build(dict(type='CIFAR100LT', data_root=root, imb_factor=0.01, check_md5=False))
    with pytest.raises(ValueError, match="CIFAR100LT: imb_factor must be >= 1.*got 'abc'"):  # not a TypeError
        DATASETS.build(dict(type='CIFAR100LT', data_root=root, imb_factor='abc', check_md5=False))


@pytest.mark.parametrize('cfg_name,ds_type', [('cifar10_lt.py', 'CIFAR10LT'), ('cifar100_lt.py', 'CIFAR100LT')])
def test_base_configs_build(cifar_roots, cfg_name, ds_type):
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets', cfg_name))
    assert cfg.train_dataloader.dataset.type == ds_type and cfg.train_dataloader.dataset.data_root.startswith('data/')
    assert cfg.test_dataloader.dataset.split == 'test' and cfg.val_evaluator.type == 'LongTailAccuracy'
    root, _ = cifar_roots[ds_type]
    train = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=root, check_md5=False))
    assert tuple(train[0]['inputs'].shape) == (3, 32, 32)  # the train pipeline (pad-4 crop, flip) runs
