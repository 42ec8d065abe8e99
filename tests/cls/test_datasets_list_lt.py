"""ImageNetLT / PlacesLT / INat2018LT on generated `path label` list files and PNG images."""
from __future__ import annotations

import os.path as osp

import mmcv
import numpy as np
import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS

import ltplug  # noqa: F401
from ltplug.cls.datasets.list_lt import ListFileError
from ltplug.core.counts import ClassCountsError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def write_lists(root, lists, size=12):
    """lists: {file name: [(relative path, label), ...]}; writes the PNGs and the list files."""
    rng = np.random.default_rng(0)
    for name, rows in lists.items():
        for rel, _ in rows:
            if not osp.exists(osp.join(root, rel)):
                mmcv.imwrite(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), osp.join(root, rel))
        with open(osp.join(root, name), 'w') as f:
            f.write(''.join(f'{rel} {lab}\n' for rel, lab in rows))


@pytest.fixture
def imagenet_lt(tmp_path):
    counts = {0: 6, 1: 3, 2: 1}
    train = [(f'train/n{c:08d}/n{c:08d}_{i}.JPEG', c) for c, n in counts.items() for i in range(n)]
    val = [(f'train/n{c:08d}/val_{c}.JPEG', c) for c in range(3)]
    # the label comes from the file even where the folder says otherwise
    test = [(f'val/n{c:08d}/ILSVRC2012_val_{c}.JPEG', c) for c in range(3)] + [('val/n00000000/odd.JPEG', 2)]
    write_lists(str(tmp_path), {'ImageNet_LT_train.txt': train, 'ImageNet_LT_val.txt': val,
                                'ImageNet_LT_test.txt': test})
    return str(tmp_path), counts


def test_default_lists_labels_and_paths(imagenet_lt):
    root, counts = imagenet_lt
    ds = DATASETS.build(dict(type='ImageNetLT', data_root=root, split='train', num_classes=3))
    assert len(ds) == 10
    assert ds.get_class_counts().tolist() == [6, 3, 1]
    info = ds.get_data_info(0)
    assert info['img_path'] == osp.join(root, 'train/n00000000/n00000000_0.JPEG') and osp.exists(info['img_path'])
    test = DATASETS.build(dict(type='ImageNetLT', data_root=root, split='test', num_classes=3))
    assert test.get_data_info(3)['img_path'].endswith('val/n00000000/odd.JPEG')
    assert test.get_gt_labels().tolist() == [0, 1, 2, 2]
    assert test.get_class_counts().tolist() == [1, 1, 2]


def test_ann_file_and_data_prefix(imagenet_lt, tmp_path):
    root, _ = imagenet_lt
    ds = DATASETS.build(dict(type='PlacesLT', data_root=osp.dirname(root), data_prefix=osp.basename(root),
                             ann_file=osp.join(root, 'ImageNet_LT_val.txt'), num_classes=3))
    assert len(ds) == 3 and osp.exists(ds.get_data_info(2)['img_path'])
    assert ds.get_data_info(2)['img_path'] == osp.join(root, 'train/n00000002/val_2.JPEG')


def test_config_pipelines_run(imagenet_lt):
    root, _ = imagenet_lt
    for name, ncls in (('imagenet_lt.py', 1000), ('places_lt.py', 365), ('inat18_lt.py', 8142)):
        cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets', name))
        assert cfg.data_preprocessor.num_classes == ncls and cfg.train_dataloader.dataset.data_root.startswith('data/')
        for loader, shape in ((cfg.train_dataloader, (3, 224, 224)), (cfg.test_dataloader, (3, 224, 224))):
            ds = DATASETS.build(dict(loader.dataset, data_root=root, ann_file='ImageNet_LT_train.txt'))
            assert ds.num_classes == ncls
            out = ds[0]
            assert tuple(out['inputs'].shape) == shape and int(out['data_samples'].gt_label) == 0


def test_imagenet_class_names_follow_the_wnid_order(imagenet_lt):
    root, _ = imagenet_lt
    ds = DATASETS.build(dict(type='ImageNetLT', data_root=root, split='val'))
    assert len(ds.CLASSES) == 1000 and ds.CLASSES[0].startswith('tench')


def test_inat_test_split_reads_the_val_list(tmp_path):
    rows = [(f'train_val2018/Plantae/{c}/x{c}.jpg', c) for c in range(4)]
    write_lists(str(tmp_path), {'iNaturalist18_val.txt': rows})
    for split in ('val', 'test'):
        ds = DATASETS.build(dict(type='INat2018LT', data_root=str(tmp_path), split=split, num_classes=4))
        assert ds.get_gt_labels().tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize('line,match', [
    ('train/a.jpg', r'bad\.txt:2: expected "<relative/path> <integer label>"'),
    ('train/a.jpg x', r"bad\.txt:2: the label 'x' is not an integer"),
    ('train/a.jpg 3', r'bad\.txt:2: label 3 is outside \[0, 3\)'),
    ('train/a.jpg -1', r'bad\.txt:2: label -1 is outside'),
])
def test_bad_lines_name_file_and_line(tmp_path, line, match):
    (tmp_path / 'bad.txt').write_text(f'train/ok.jpg 0\n{line}\n')
    with pytest.raises(ListFileError, match=match):
        DATASETS.build(dict(type='ImageNetLT', data_root=str(tmp_path), ann_file='bad.txt', num_classes=3))


def test_missing_list_and_empty_classes(tmp_path):
    with pytest.raises(FileNotFoundError, match='ImageNet_LT_train.txt'):
        DATASETS.build(dict(type='ImageNetLT', data_root=str(tmp_path), split='train'))
    (tmp_path / 'gap.txt').write_text('a.jpg 0\nb.jpg 2\n')
    ds = DATASETS.build(dict(type='ImageNetLT', data_root=str(tmp_path), ann_file='gap.txt', num_classes=3))
    with pytest.raises(ClassCountsError, match=r'gap\.txt.*1 of 3 classes have no image \(first: \[1\]\)'):
        ds.get_class_counts()
    assert ds.get_class_counts(allow_empty=True).tolist() == [1, 0, 1]
    # the list only reaches label 1 of 5 classes: the error points at num_classes
    (tmp_path / 'short.txt').write_text('a.jpg 0\nb.jpg 1\n')
    ds = DATASETS.build(dict(type='PlacesLT', data_root=str(tmp_path), ann_file='short.txt', num_classes=5))
    with pytest.raises(ClassCountsError, match='labels only reach 1: is num_classes=5 right'):
        ds.get_class_counts()
    with pytest.raises(ValueError, match='split must be one of'):
        DATASETS.build(dict(type='PlacesLT', data_root=str(tmp_path), split='training'))
    with pytest.raises(ValueError, match='2 class names but num_classes=3'):
        DATASETS.build(dict(type='PlacesLT', data_root=str(tmp_path), ann_file='gap.txt', num_classes=3,
                            classes=['a', 'b']))


def test_class_counts_hook_path_uses_the_dataset(imagenet_lt):
    from ltplug.core.counts import dataset_class_counts
    root, _ = imagenet_lt
    ds = DATASETS.build(dict(type='ImageNetLT', data_root=root, split='train', num_classes=3, lazy_init=True))
    assert dataset_class_counts(ds).tolist() == [6, 3, 1]
