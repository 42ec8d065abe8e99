"""CategoryExtrapolationDataset: label shifting, per-epoch re-subsampling, neighbour-map validation; DigitsAux."""
from __future__ import annotations

import json
import os.path as osp

import numpy as np
import pytest
from conftest import make_list_file_dataset
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

import ltplug  # noqa: F401
from ltplug.cls.datasets.extrapolation import NeighbourMapError, load_neighbour_map

init_default_scope('mmpretrain')

TARGET_COUNTS = (12, 6, 3)
AUX_COUNTS = (9, 4, 30, 7)


@pytest.fixture
def data(tmp_path):
    """Target (3 classes) and auxiliary (4 classes) PNG image sets with `path label` lists (the ImageNet-LT format)."""
    tgt = make_list_file_dataset(str(tmp_path / 'tgt'), 3, TARGET_COUNTS, n_test=2, size=8, seed=0)
    aux = make_list_file_dataset(str(tmp_path / 'aux'), 4, AUX_COUNTS, n_test=1, size=8, seed=1)
    nmap = tmp_path / 'neighbours.json'
    # by id and by class name; auxiliary class 1 ('class1' of the aux set) is not listed
    nmap.write_text(json.dumps({'neighbours': {'0': [0], 'class2': ['class2', 3]}, 'note': 'test'}))
    return dict(tgt=tgt, aux=aux, nmap=str(nmap))


def list_ds(info, split='train'):
    return dict(type='CustomDataset', data_root=info['root'], ann_file=f'{split}.txt', data_prefix='images',
                classes=info['classes'], with_label=True)


def build(data, **kw):
    cfg = dict(type='CategoryExtrapolationDataset', target=list_ds(data['tgt']), auxiliary=list_ds(data['aux']),
               neighbour_map=data['nmap'], pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')])
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_labels_are_shifted_and_pairs_merged(data):
    ds = build(data, quota=dict(cap=5))
    # listed auxiliary classes 0, 2, 3 -> merged ids 3, 4, 5; class 1 is dropped ('listed')
    assert ds.num_target_classes == 3 and ds.num_aux_classes == 3 and ds.num_classes == 6
    assert ds.aux_class_ids.tolist() == [0, 2, 3]
    assert ds.neighbour_pairs.tolist() == [[0, 3], [2, 4], [2, 5]]
    assert ds.metainfo['classes'] == ('class0', 'class1', 'class2', 'class0', 'class2', 'class3')
    # reference count 'target': aux 0 <- target 0 (12 images) -> 20 < 12? no: m <= 20 -> cap 5; aux 2, 3 <- target 2
    np.testing.assert_array_equal(ds.get_class_counts(), [12, 6, 3, 5, 5, 5])
    labels = ds.get_gt_labels()
    assert labels[:21].tolist() == [0] * 12 + [1] * 6 + [2] * 3  # targets complete, ids unchanged
    item = ds[len(ds) - 1]
    assert int(item['data_samples'].gt_label) == 5 and item['inputs'].shape == (3, 8, 8)
    info = ds.get_data_info(0)
    assert info['gt_label'] == 0 and osp.isfile(info['img_path'])
    # an auxiliary sample's image really is from its auxiliary class folder
    aux_info = ds.get_data_info(int(np.flatnonzero(labels == 4)[0]))
    assert '/aux/images/train/class2/' in aux_info['img_path']


def test_all_aux_classes_keep_unlisted_ones_in_full(data):
    ds = build(data, aux_classes='all', quota=dict(cap=5))
    assert ds.num_classes == 7
    np.testing.assert_array_equal(ds.get_class_counts(), [12, 6, 3, 5, 4, 5, 5])  # unlisted aux 1: all 4 images
    assert ds.neighbour_pairs.tolist() == [[0, 3], [2, 5], [2, 6]]


def test_resubsampling_is_deterministic_per_seed_and_epoch(data):
    # m = own counts 9, 30, 7: 9 -> cap 5 of 9; 20 < 30 <= 100 -> all 30; 7 -> cap 5 of 7
    ds = build(data, quota=dict(cap=5), reference_counts='available')
    first = ds._local.copy()
    sizes = np.bincount(ds.get_gt_labels(), minlength=6)
    draws = set()
    for epoch in range(6):
        ds.set_epoch(epoch)
        assert len(ds) == 21 + 5 + 30 + 5
        np.testing.assert_array_equal(np.bincount(ds.get_gt_labels(), minlength=6), sizes)  # sizes never change
        assert (ds._local[:21] == np.arange(21)).all()  # every target image, every epoch
        aux_local = ds._local[21:]
        assert len(set(aux_local.tolist())) == aux_local.size  # no duplicates within an epoch
        draws.add(tuple(aux_local.tolist()))
    assert len(draws) > 1  # the auxiliary subset changes across epochs
    ds.set_epoch(0)
    np.testing.assert_array_equal(ds._local, first)
    again = build(data, quota=dict(cap=5), reference_counts='available')
    again.set_epoch(3)
    ds.set_epoch(3)
    np.testing.assert_array_equal(again._local, ds._local)  # same (seed, epoch) -> same subset
    other_seed = build(data, quota=dict(cap=5), reference_counts='available', seed=1)
    other_seed.set_epoch(3)
    assert not np.array_equal(other_seed._local, ds._local)
    full = build(data, resample=False)
    np.testing.assert_array_equal(full.get_class_counts(), [12, 6, 3, 9, 30, 7])


def test_official_quota_rule_with_reference_counts_file(data, tmp_path):
    ref = tmp_path / 'wordname_to_num.json'
    ref.write_text(json.dumps({'class0': 150, '2': 25, 'class3': 4}))
    ds = build(data, reference_counts=str(ref))
    # m=150 > 100 -> 50 capped at 9 images; m=25 -> 25 of 30; m=4 <= 20 -> 50 capped at 7
    np.testing.assert_array_equal(ds.get_class_counts()[3:], [9, 25, 7])


@pytest.mark.parametrize('content, msg', [
    ({'5': [0]}, r'target id 5 is outside \[0, 3\)'),
    ({'0': [4]}, r'auxiliary id 4 is outside \[0, 4\)'),
    ({'0': ['nope']}, "unknown auxiliary class name 'nope'"),
    ({'dog': [0]}, "unknown target class name 'dog'"),
    ({'0': [1, 1]}, 'twice'),
    ({'0': 1}, 'must map to a list'),
    ({'0': [True]}, 'integer id or a class name'),
    ([1, 2], 'expected an object'),
])
def test_neighbour_map_errors_name_the_file(tmp_path, content, msg):
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(content))
    with pytest.raises(NeighbourMapError, match=msg) as err:
        load_neighbour_map(str(path), 3, 4, ['a', 'b', 'c'], ['w', 'x', 'y', 'z'])
    assert str(path) in str(err.value)


def test_bad_json_and_missing_file(tmp_path):
    path = tmp_path / 'broken.json'
    path.write_text('{\n "0": [1,\n}')
    with pytest.raises(NeighbourMapError, match=r'broken.json:3: not valid JSON'):
        load_neighbour_map(str(path), 3, 4)
    with pytest.raises(NeighbourMapError, match='not found'):
        load_neighbour_map(str(tmp_path / 'none.json'), 3, 4)


def test_config_mistakes_fail_clearly(data, tmp_path):
    with pytest.raises(ValueError, match='give the pipeline to the wrapper'):
        build(data, target=dict(list_ds(data['tgt']), pipeline=[dict(type='LoadImageFromFile')]))
    empty = tmp_path / 'empty.json'
    empty.write_text('{}')
    with pytest.raises(NeighbourMapError, match='lists no auxiliary class'):
        build(data, neighbour_map=str(empty))
    with pytest.raises(ValueError, match="aux_classes must be 'listed' or 'all'"):
        build(data, aux_classes='some')
    with pytest.raises(ValueError, match='quota takes high, low and cap'):
        build(data, quota=dict(top=3))


def test_digits_aux_is_held_out_and_transformed():
    aux = DATASETS.build(dict(type='DigitsAux', transforms=('rot90', 'hflip')))
    assert aux.metainfo['classes'][:3] == ('0_rot90', '0_hflip', '1_rot90')
    labels = aux.get_gt_labels()
    counts = np.bincount(labels, minlength=20)
    assert (counts[0::2] == counts[1::2]).all() and counts.min() > 0
    # undo the transform: no auxiliary image is any DigitsLT train / val / test image
    seen = set()
    for split in ('train', 'val', 'test'):
        ds = DATASETS.build(dict(type='DigitsLT', split=split))
        seen |= {ds.get_data_info(i)['img'].tobytes() for i in range(len(ds))}
    infos = [aux.get_data_info(i) for i in range(len(aux))]
    undone = [np.rot90(x['img'], -1) if x['gt_label'] % 2 == 0 else x['img'][:, ::-1] for x in infos]
    assert not any(np.ascontiguousarray(u).tobytes() in seen for u in undone)
    # and with source='pool' the train images come in (still no val / test image)
    pool = DATASETS.build(dict(type='DigitsAux', transforms=('hflip',), source='pool'))
    assert len(pool) > len(aux) // 2
    with pytest.raises(ValueError, match='transforms'):
        DATASETS.build(dict(type='DigitsAux', transforms=('spin',)))
