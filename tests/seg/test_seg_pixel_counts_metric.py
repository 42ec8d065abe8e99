"""Training pixel counts (maths, cache, malformed maps) and the head/body/tail IoU metric, on generated ADE20K data."""
from __future__ import annotations

import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from conftest import REPO, run_tool
from mmengine.structures import PixelData
from mmseg.datasets import ADE20KDataset
from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample
from PIL import Image

import ltplug  # noqa: F401
from ltplug.core.counts import ClassCountsError, load_class_counts
from ltplug.core.shot_metrics import frequency_groups
from ltplug.seg.pixel_counts import AnnotationError, dataset_pixel_counts, label_histogram


@pytest.fixture(scope='module')
def tiny_ade(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('ade') / 'tiny_ade20k')
    run_tool(osp.join(REPO, 'tools/misc/make_tiny_ade20k.py'), root, '--train', '10', '--val', '4', '--size', '32')
    return root



def ade(root: str, split: str = 'training', **kw) -> ADE20KDataset:
    return ADE20KDataset(data_root=root, data_prefix=dict(img_path=f'images/{split}',
                                                          seg_map_path=f'annotations/{split}'), **kw)


def raw_counts(root: str) -> np.ndarray:
    """Independent reference: histogram of the PNG values read with PIL, value v > 0 -> class v - 1 (0 ignored)."""
    total = np.zeros(256, np.int64)
    ann = osp.join(root, 'annotations', 'training')
    for name in sorted(os.listdir(ann)):
        total += np.bincount(np.asarray(Image.open(osp.join(ann, name))).ravel(), minlength=256)
    return total[1:151]


def test_generator_layout_and_long_tail(tiny_ade):
    for split, n in (('training', 10), ('validation', 4)):
        imgs = sorted(os.listdir(osp.join(tiny_ade, 'images', split)))
        anns = sorted(os.listdir(osp.join(tiny_ade, 'annotations', split)))
        assert len(imgs) == n and [a[:-4] for a in anns] == [i[:-4] for i in imgs]
    counts = raw_counts(tiny_ade)
    assert np.array_equal(counts, load_class_counts(osp.join(tiny_ade, 'train_pixel_counts.txt')))
    assert counts.min() > 0  # every class has training pixels
    assert counts[:5].sum() > counts[5:].sum() and counts.max() / counts.min() > 50  # long-tailed


def test_pixel_counts_match_and_cache(tiny_ade, tmp_path):
    ds = ade(tiny_ade)
    cache = str(tmp_path / 'cache')
    counts, path = dataset_pixel_counts(ds, cache_dir=cache, num_workers=2)
    assert np.array_equal(counts, raw_counts(tiny_ade))
    assert osp.isfile(path) and np.array_equal(load_class_counts(path), counts)  # a valid class-count file
    # the second call reads the cache (proved by a planted value), a changed map invalidates it
    planted = counts.copy()
    planted[0] += 12345
    with open(path, 'w') as f:
        f.write('\n'.join(map(str, planted)) + '\n')
    again, path2 = dataset_pixel_counts(ds, cache_dir=cache, num_workers=0)
    assert path2 == path and np.array_equal(again, planted)
    victim = ds.get_data_info(0)['seg_map_path']
    st = os.stat(victim)
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    fresh, path3 = dataset_pixel_counts(ds, cache_dir=cache, num_workers=0)
    assert path3 != path and np.array_equal(fresh, counts)


def test_pixel_counts_with_custom_classes(tiny_ade):
    classes = ADE20KDataset.METAINFO['classes']
    subset = (classes[7], classes[0], classes[3])  # mmseg remaps them to 0, 1, 2; every other class becomes 255
    ds = ade(tiny_ade, metainfo=dict(classes=subset))
    counts, _ = dataset_pixel_counts(ds, cache_dir=None)
    ref = raw_counts(tiny_ade)
    assert counts.tolist() == [ref[7], ref[0], ref[3]]


def test_malformed_annotation_maps(tiny_ade, tmp_path):
    root = str(tmp_path / 'broken')
    shutil.copytree(tiny_ade, root)
    ds = ade(root)
    first = ds.get_data_info(0)['seg_map_path']
    # a label value past the 150 classes (raw 200 -> class 199 after reduce_zero_label)
    lab = np.asarray(Image.open(first)).copy()
    lab[0, :3] = 200
    Image.fromarray(lab).save(first)
    with pytest.raises(AnnotationError, match=rf'{osp.basename(first)}.*\[199\].*outside \[0, 150\)'):
        dataset_pixel_counts(ds, cache_dir=None)
    # an RGB rendering instead of class indices
    Image.fromarray(np.stack([lab] * 3, axis=-1)).save(first)
    with pytest.raises(AnnotationError, match='single-channel'):
        label_histogram(first, 150, 255, True)
    # not an image at all
    with open(first, 'wb') as f:
        f.write(b'this is not a png')
    with pytest.raises(AnnotationError, match=f'{osp.basename(first)}: cannot decode'):
        label_histogram(first, 150, 255, True)
    # a missing map
    os.remove(first)
    with pytest.raises(AnnotationError, match=f'{osp.basename(first)}: annotation map not found'):
        dataset_pixel_counts(ds, cache_dir=str(tmp_path / 'c'))


def test_frequency_groups():
    counts = np.array([50, 900, 7, 7, 300, 1, 20, 5000, 60])
    g = frequency_groups(counts)  # thirds by rank: 5000, 900, 300 | 60, 50, 20 | 7, 7 (class 2 before 3), 1
    assert g.tolist() == [1, 0, 2, 2, 0, 2, 1, 0, 1]
    g = frequency_groups(counts, ratios=(1, 2, 1))  # 2.25 -> 2 head, 2 tail
    assert g.tolist() == [1, 0, 1, 2, 1, 2, 1, 0, 1]
    share = counts / counts.sum()
    g = frequency_groups(counts, split='fraction', thresholds=(0.1, 0.005))
    assert g.tolist() == [0 if s >= 0.1 else (2 if s < 0.005 else 1) for s in share]
    with pytest.raises(ValueError, match='thresholds'):
        frequency_groups(counts, split='fraction')
    with pytest.raises(ValueError, match='split'):
        frequency_groups(counts, split='median')


def _sample(pred: np.ndarray, gt: np.ndarray) -> dict:
    s = SegDataSample()
    s.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
    s.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
    return s.to_dict()


def test_long_tail_iou_metric_against_numpy():
    rng = np.random.default_rng(0)
    c = 6
    counts = np.array([9000, 4000, 1500, 300, 40, 3])  # head {0, 1}, body {2, 3}, tail {4, 5}
    gts = [rng.integers(0, c, (20, 20)) for _ in range(3)]
    gts[0][:2] = 255
    preds = [np.where(rng.random(g.shape) < 0.6, g, rng.integers(0, c, g.shape)) % 255 for g in gts]
    preds = [np.where(p == 255, 0, p) for p in preds]
    for g in gts:  # class 5 never appears in the evaluated ground truth; class 4 is never predicted
        g[g == 5] = 3
    preds = [np.where(p == 4, 1, p) for p in preds]
    meta = dict(classes=tuple(f'c{i}' for i in range(c)))
    metric = METRICS.build(dict(type='LongTailIoUMetric', class_counts=counts.tolist()))
    stock = IoUMetric()
    for m in (metric, stock):
        m.dataset_meta = meta
        m.process({}, [_sample(p, g) for p, g in zip(preds, gts)])
    res = metric.evaluate(3)
    ref_stock = stock.evaluate(3)
    # independent IoU from the confusion matrix, ignore index 255 excluded
    cm = np.zeros((c, c), np.int64)
    for p, g in zip(preds, gts):
        keep = g != 255
        np.add.at(cm, (g[keep], p[keep]), 1)
    inter = np.diag(cm).astype(float)
    union = cm.sum(0) + cm.sum(1) - np.diag(cm)
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = inter / union
    for name, members in (('head', [0, 1]), ('body', [2, 3]), ('tail', [4, 5])):
        assert res[f'mIoU_{name}'] == pytest.approx(np.round(np.nanmean(iou[members]) * 100, 2), abs=1e-6)
    assert res['mIoU'] == ref_stock['mIoU'] == pytest.approx(np.round(np.nanmean(iou) * 100, 2), abs=1e-6)
    assert res['mIoU_tail'] == 0.0  # class 4 is in the ground truth but never predicted; class 5 is skipped (NaN)


def test_long_tail_iou_metric_needs_counts():
    metric = METRICS.build(dict(type='LongTailIoUMetric'))
    metric.dataset_meta = dict(classes=('a', 'b'))
    gt = np.array([[0, 1], [1, 1]])
    metric.process({}, [_sample(gt, gt)])
    with pytest.raises(ClassCountsError, match='SegPixelCountsHook'):
        metric.evaluate(1)
    with pytest.raises(ClassCountsError, match='num_classes=2'):
        metric.set_class_counts([1, 2, 3])
    with pytest.raises(ValueError, match='mIoU'):
        METRICS.build(dict(type='LongTailIoUMetric', iou_metrics=['mDice']))
