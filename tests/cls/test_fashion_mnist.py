"""FashionMNISTGz: Fashion-MNIST from the Debian package's IDX .gz files, and the Fashion-MNIST-LT base configs.

Generated IDX files (built byte by byte here) check the reader; the real files, when the Debian package
``dataset-fashion-mnist`` is installed (tools/setup.sh installs it when run as root), check the split sizes, the
long-tailed counts (computed by hand) and the base config's pixel statistics.
"""
from __future__ import annotations

import glob
import gzip
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS

import ltplug  # noqa: F401
from ltplug.cls.datasets.fashion_mnist import DEBIAN_ROOT, FILES, read_idx_gz

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REAL = all(osp.isfile(osp.join(DEBIAN_ROOT, n)) for pair in FILES.values() for n in pair)
# n_max 1000, IF 100, C 10, by hand: 1000 * 0.01^(i/9) = 1000, 599.5, 359.4, 215.4, 129.2, 77.4, 46.4, 27.8, 16.7, 10
HAND_IF100 = [1000, 599, 359, 215, 129, 77, 46, 27, 16, 10]
# n_max 1000, IF 10: 1000 * 0.1^(i/9) = 1000, 774.3, 599.5, 464.2, 359.4, 278.3, 215.4, 166.8, 129.2, 100
HAND_IF10 = [1000, 774, 599, 464, 359, 278, 215, 166, 129, 100]


def _gz_idx(path, header: bytes, body: bytes) -> None:
    with gzip.open(path, 'wb') as f:
        f.write(header + body)


@pytest.fixture()
def small_root(tmp_path):
    """Four hand-built IDX .gz files: 3 train images (pixels 0..2351 mod 256), labels 9 0 4; 2 test images."""
    for prefix, labels in (('train', [9, 0, 4]), ('t10k', [1, 1])):
        n = len(labels)
        _gz_idx(tmp_path / f'{prefix}-images-idx3-ubyte.gz', b'\x00\x00\x08\x03' + n.to_bytes(4, 'big') +
                (28).to_bytes(4, 'big') * 2, bytes(i % 256 for i in range(n * 784)))
        _gz_idx(tmp_path / f'{prefix}-labels-idx1-ubyte.gz', b'\x00\x00\x08\x01' + n.to_bytes(4, 'big'),
                bytes(labels))
    return tmp_path


def test_reader_on_hand_built_files(small_root):
    ds = DATASETS.build(dict(type='FashionMNISTGz', data_root=str(small_root), split='train'))
    assert len(ds) == 3 and ds.get_gt_labels().tolist() == [9, 0, 4]
    info = ds.get_data_info(1)
    assert info['img'].shape == (28, 28, 3) and info['img'].dtype == np.uint8 and info['raw_index'] == 1
    expected = np.array([(784 + i) % 256 for i in range(784)], np.uint8).reshape(28, 28)
    for ch in range(3):
        assert np.array_equal(info['img'][..., ch], expected)
    assert ds.get_class_counts().tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    test = DATASETS.build(dict(type='FashionMNISTGz', data_root=str(small_root), split='test',
                               pipeline=[dict(type='PackInputs')]))
    assert len(test) == 2 and tuple(test[0]['inputs'].shape) == (3, 28, 28)


def test_bad_files_fail_clearly(small_root, tmp_path_factory):
    empty = tmp_path_factory.mktemp('empty')
    with pytest.raises(FileNotFoundError) as err:
        DATASETS.build(dict(type='FashionMNISTGz', data_root=str(empty)))
    msg = str(err.value)
    assert 'dataset-fashion-mnist' in msg
    assert all(n in msg for pair in FILES.values() for n in pair)
    _gz_idx(small_root / 'train-labels-idx1-ubyte.gz', b'\x00\x00\x08\x01' + (4).to_bytes(4, 'big'), bytes(3))
    with pytest.raises(ValueError, match=r'header says \(4,\) \(4 bytes\) but the file holds 3'):
        read_idx_gz(str(small_root / 'train-labels-idx1-ubyte.gz'), 1)
    with pytest.raises(ValueError, match='not an unsigned-byte IDX file with 3'):
        read_idx_gz(str(small_root / 't10k-labels-idx1-ubyte.gz'), 3)
    with pytest.raises(ValueError, match='split must be one of'):
        DATASETS.build(dict(type='FashionMNISTGz', data_root=str(small_root), split='val'))


@pytest.mark.skipif(not REAL, reason=f'the Debian package dataset-fashion-mnist is not installed ({DEBIAN_ROOT})')
def test_real_files_and_long_tailed_split():
    train = DATASETS.build(dict(type='FashionMNISTGz', split='train'))
    test = DATASETS.build(dict(type='FashionMNISTGz', split='test'))
    assert train.get_class_counts().tolist() == [6000] * 10 and test.get_class_counts().tolist() == [1000] * 10
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets/fashion_mnist_lt.py'))
    tr = DATASETS.build(dict(cfg.train_dataloader.dataset, dataset=train))
    va = DATASETS.build(dict(cfg.val_dataloader.dataset, dataset=train))
    assert tr.get_class_counts().tolist() == HAND_IF100 and len(tr) == 2478
    assert va.get_class_counts().tolist() == [100] * 10
    assert not set(tr.indices.tolist()) & set(va.indices.tolist())
    assert [train.get_data_info(int(i))['raw_index'] for i in tr.indices[:3]] == tr.indices[:3].tolist()
    cfg10 = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets/fashion_mnist_lt_if10.py'))
    tr10 = DATASETS.build(dict(cfg10.train_dataloader.dataset, dataset=train))
    assert tr10.get_class_counts().tolist() == HAND_IF10
    # the preprocessor's statistics are those of all 60,000 train images
    pixels = np.stack([train.get_data_info(i)['img'][..., 0] for i in range(0, 60000)]).astype(np.float64)
    assert cfg.data_preprocessor.mean == pytest.approx([pixels.mean()] * 3, abs=0.01)
    assert cfg.data_preprocessor.std == pytest.approx([pixels.std()] * 3, abs=0.01)
    assert cfg.test_dataloader.dataset.split == 'test' and cfg.test_evaluator.many_thr == 100


FMNIST_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '*', '*fashion-mnist-lt*.py')))


@pytest.mark.parametrize('path', FMNIST_CONFIGS, ids=osp.basename)
def test_configs_build(path):
    """Every Fashion-MNIST-LT config builds its model; with the real files, its train set and one training sample."""
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    assert model.head.num_classes == (30 if '/lfn_' in path else 10)
    assert cfg.test_evaluator.many_thr == 100 and cfg.test_evaluator.few_thr == 20
    if REAL and path.endswith('if100.py'):
        train = DATASETS.build(cfg.train_dataloader.dataset)
        item = train[0]
        assert int(item['data_samples'].gt_label) == int(train.get_gt_labels()[0])
