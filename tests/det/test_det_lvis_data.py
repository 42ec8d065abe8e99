"""The generated tiny LVIS v1 set, per-class instance counts (plain and repeat-factor aware), and the format checks."""
from __future__ import annotations

import copy
import json
import math
import os.path as osp

import numpy as np
import pytest
from conftest import REPO, run_tool
from lvis import LVIS
from mmengine.dataset import ClassBalancedDataset
from mmengine.registry import init_default_scope

import ltplug  # noqa: F401
from ltplug.core.counts import ClassCountsError
from ltplug.det.class_counts import det_class_counts
from ltplug.det.lvis_format import CheckedLVISV1Dataset, LVISFormatError, check_lvis_dict, load_lvis_json
from ltplug.engine.hooks import DetClassCountsHook

NUM_CLASSES = 12


@pytest.fixture(scope='module')
def tiny_lvis(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('lvis') / 'tiny_lvis')
    run_tool(osp.join(REPO, 'tools/misc/make_tiny_lvis.py'), root)
    with open(osp.join(root, 'annotations', 'lvis_v1_train.json')) as f:
        train = json.load(f)
    return dict(root=root, train=train)


def dataset(root: str, split: str = 'train', ann_file: str | None = None) -> CheckedLVISV1Dataset:
    init_default_scope('mmdet')
    return CheckedLVISV1Dataset(data_root=root, ann_file=ann_file or f'annotations/lvis_v1_{split}.json',
                                data_prefix=dict(img=''), metainfo=dict(classes=tuple(f'class_{i:02d}' for i in
                                                                                      range(NUM_CLASSES))),
                                filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=[])


def test_generated_files_are_lvis_v1(tiny_lvis):
    root, train = tiny_lvis['root'], tiny_lvis['train']
    for split in ('train', 'val'):
        path = osp.join(root, 'annotations', f'lvis_v1_{split}.json')
        data = load_lvis_json(path, require_counts=True)
        api = LVIS(path)  # the official API reads it
        assert len(api.get_cat_ids()) == NUM_CLASSES
        for img in data['images']:  # images exist where the coco_url says
            rel = img['coco_url'].replace('http://images.cocodataset.org/', '')
            assert rel.startswith(f'{split}2017/') and osp.isfile(osp.join(root, rel))
    cats = train['categories']
    inst = np.bincount([a['category_id'] - 1 for a in train['annotations']], minlength=NUM_CLASSES)
    imgs = np.zeros(NUM_CLASSES, int)
    for img_id in {a['image_id'] for a in train['annotations']}:
        imgs[sorted({a['category_id'] - 1 for a in train['annotations'] if a['image_id'] == img_id})] += 1
    assert [c['instance_count'] for c in cats] == inst.tolist()
    assert [c['image_count'] for c in cats] == imgs.tolist()
    assert [c['frequency'] for c in cats] == ['r' if n <= 2 else 'c' if n <= 10 else 'f' for n in imgs]
    assert {'r', 'c', 'f'} == {c['frequency'] for c in cats} and inst[0] / inst[-1] >= 10
    val = load_lvis_json(osp.join(root, 'annotations', 'lvis_v1_val.json'))
    assert any(img['neg_category_ids'] for img in val['images'])
    assert any(img['not_exhaustive_category_ids'] for img in val['images'])


def test_instance_counts(tiny_lvis):
    ds = dataset(tiny_lvis['root'])
    inst = [c['instance_count'] for c in tiny_lvis['train']['categories']]
    assert det_class_counts(ds).tolist() == inst
    assert det_class_counts(ds, source='instance_count').tolist() == inst
    assert det_class_counts(ds, source='image_count').tolist() == [c['image_count'] for c in
                                                                   tiny_lvis['train']['categories']]
    # repeat-factor sampling: image I appears ceil(max_c max(1, sqrt(t / f_c))) times (LVIS paper, mmengine wrapper)
    thr = 0.1
    cbd = ClassBalancedDataset(ds, oversample_thr=thr)
    anns = tiny_lvis['train']['annotations']
    num_images = len(tiny_lvis['train']['images'])
    freq = np.array([c['image_count'] for c in tiny_lvis['train']['categories']]) / num_images
    r_cat = np.maximum(1.0, np.sqrt(thr / freq))
    expected = np.zeros(NUM_CLASSES)
    for img in tiny_lvis['train']['images']:
        cats = [a['category_id'] - 1 for a in anns if a['image_id'] == img['id']]
        expected += math.ceil(max(r_cat[c] for c in cats)) * np.bincount(cats, minlength=NUM_CLASSES)
    assert det_class_counts(cbd, repeat_aware=True).tolist() == expected.astype(int).tolist()
    assert det_class_counts(cbd).tolist() == inst  # default: the data set's own frequencies
    assert (expected > inst).any()
    with pytest.raises(ClassCountsError, match='source'):
        det_class_counts(ds, source='area')
    with pytest.raises(ClassCountsError, match='min_count'):
        DetClassCountsHook(min_count=0)


def _broken(tiny_lvis, tmp_path, mutate) -> str:
    data = copy.deepcopy(tiny_lvis['train'])
    mutate(data)
    path = str(tmp_path / 'broken.json')
    with open(path, 'w') as f:
        json.dump(data, f)
    return path


@pytest.mark.parametrize('mutate,message', [
    (lambda d: d.pop('categories'), 'missing the top-level list "categories"'),
    (lambda d: d['categories'][3].pop('frequency'), r'categories\[3\] \(id 4\): missing \[\'frequency\'\]'),
    (lambda d: d['categories'][0].update(frequency='x'), r'categories\[0\] \(id 1\): frequency must be one of'),
    (lambda d: d['categories'][1].update(instance_count=-2), r'categories\[1\] \(id 2\): instance_count must be'),
    (lambda d: d['images'][5].pop('neg_category_ids'), r"images\[5\] \(id 6\): missing \['neg_category_ids'\]"),
    (lambda d: d['images'][2].update(not_exhaustive_category_ids=[999]), 'unknown category ids \\[999\\]'),
    (lambda d: d['images'][1].update(id=1), 'duplicate images ids \\[1\\]'),
    (lambda d: d['images'][0].pop('coco_url'), r'images\[0\] \(id 1\): needs "coco_url"'),
    (lambda d: d['annotations'][4].update(category_id=77), r'annotations\[4\] \(id 5\): category_id 77 is not the id'),
    (lambda d: d['annotations'][0].update(image_id=-1), r'annotations\[0\] \(id 1\): image_id -1 is not the id'),
    (lambda d: d['annotations'][2].update(bbox=[3, 4, -5, 6]), r'annotations\[2\] \(id 3\): bbox must be'),
    (lambda d: d['annotations'][6].update(segmentation=[[1, 2, 3, 4, 5]]), 'polygon 0 must be a flat list of an even'),
    (lambda d: d['annotations'][6].update(segmentation=[]), 'segmentation must be a non-empty list'),
])
def test_malformed_files_name_the_entry(tiny_lvis, tmp_path, mutate, message):
    path = _broken(tiny_lvis, tmp_path, mutate)
    with pytest.raises(LVISFormatError, match=message) as err:
        load_lvis_json(path)
    assert str(err.value).startswith(path)


def test_checked_dataset_and_json_errors(tiny_lvis, tmp_path):
    ds = dataset(tiny_lvis['root'], 'val')
    assert len(ds) == 16 and ds.get_data_info(0)['instances']
    path = _broken(tiny_lvis, tmp_path, lambda d: d['categories'][3].pop('frequency'))
    with pytest.raises(LVISFormatError, match='broken.json: categories'):
        dataset(tiny_lvis['root'], ann_file=path)
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": [1, 2,,]}')
    with pytest.raises(LVISFormatError, match='bad.json: not valid JSON \\(line 1'):
        load_lvis_json(str(bad))
    with pytest.raises(LVISFormatError, match='annotation file not found'):
        load_lvis_json(str(tmp_path / 'missing.json'))
    with pytest.raises(LVISFormatError, match='image_count'):
        check_lvis_dict({'images': [], 'annotations': [], 'categories': [{'id': 1, 'name': 'a', 'frequency': 'r'}]},
                        require_counts=True)
