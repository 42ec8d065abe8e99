"""LongTailAccuracy: known answers (accuracy and calibration), empty splits, per-class files, DDP gathering
(2 gloo processes) and a real training run."""
from __future__ import annotations

import csv
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from _dist import run_distributed
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

import ltplug  # noqa: F401
from ltplug.core.counts import ClassCountsError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COUNTS = [150, 101, 100, 50, 20, 19, 5]  # many: 0, 1; medium: 2, 3, 4 (both bounds inclusive); few: 5, 6
CONF = float(torch.tensor(0.9))  # the top score as the metric sees it (float32)


def constructed_samples():
    """Class c has 4 test images, c % 5 of them right; the scores also make top-2 always right."""
    samples = []
    for c in range(7):
        for j in range(4):
            right = j < c % 5
            score = torch.full((7,), 0.01)
            top, second = (c, (c + 1) % 7) if right else ((c + 1) % 7, c)
            score[top], score[second] = 0.9, 0.05
            samples.append(DataSample().set_gt_label(c).set_pred_score(score))
    return samples


def _classwise_ece_by_hand():
    """Every class-k score is 0.9 (bin 13), 0.05 or 0.01 (both in bin 0, (0, 1/15]); |sum y - sum p| / N per bin."""
    samples = constructed_samples()
    total = 0.0
    for k in range(7):
        for in_top_bin in (True, False):
            rows = [s for s in samples if (float(s.pred_score[k]) == pytest.approx(0.9)) == in_top_bin]
            total += abs(sum(int(s.gt_label) == k for s in rows) - sum(float(s.pred_score[k]) for s in rows))
    return 100 * total / 28 / 7


def expected_metrics():
    acc = [(c % 5) / 4 for c in range(7)]
    # every confidence is 0.9: one bin, ECE = |accuracy - 0.9| (overall and per split, over the split's samples)
    return {
        'accuracy/top1': 100 * sum(c % 5 for c in range(7)) / 28,
        'accuracy/many': 100 * (acc[0] + acc[1]) / 2,
        'accuracy/medium': 100 * (acc[2] + acc[3] + acc[4]) / 3,
        'accuracy/few': 100 * (acc[5] + acc[6]) / 2,
        'accuracy/mean_class': 100 * sum(acc) / 7,
        'accuracy/top2': 100.0,
        'accuracy/ece': 100 * abs(11 / 28 - CONF),
        'accuracy/ece_many': 100 * abs(1 / 8 - CONF),
        'accuracy/ece_medium': 100 * abs(9 / 12 - CONF),
        'accuracy/ece_few': 100 * abs(1 / 8 - CONF),
        'accuracy/classwise_ece': _classwise_ece_by_hand(),
    }


def evaluate(metric_cfg, samples):
    evaluator = Evaluator(METRICS.build(metric_cfg))
    evaluator.process(samples)
    return evaluator.evaluate(len(samples)), evaluator.metrics[0]


def test_known_answers_with_inclusive_boundaries(tmp_path):
    metrics, _ = evaluate(dict(type='LongTailAccuracy', class_counts=COUNTS, topk=(1, 2), save_dir=str(tmp_path)),
                          constructed_samples())
    assert metrics == pytest.approx(expected_metrics(), abs=1e-9)
    assert list(metrics)[0] == 'accuracy/top1'  # save_best='auto' picks the first key


def test_class_counts_from_a_file_and_set_class_counts(tmp_path):
    path = tmp_path / 'counts.txt'
    path.write_text('\n'.join(map(str, COUNTS)) + '\n')
    metrics, _ = evaluate(dict(type='LongTailAccuracy', class_counts=str(path), save_per_class=False),
                          constructed_samples())
    assert metrics['accuracy/medium'] == pytest.approx(expected_metrics()['accuracy/medium'])
    metric = METRICS.build(dict(type='LongTailAccuracy', num_classes=7, save_per_class=False))
    metric.set_class_counts(np.array(COUNTS))
    assert metric.class_counts.tolist() == COUNTS


def test_thresholds_move_the_splits():
    metrics, _ = evaluate(dict(type='LongTailAccuracy', class_counts=COUNTS, many_thr=50, few_thr=20,
                               save_per_class=False), constructed_samples())
    acc = [(c % 5) / 4 for c in range(7)]
    assert metrics['accuracy/many'] == pytest.approx(100 * (acc[0] + acc[1] + acc[2]) / 3)
    assert metrics['accuracy/medium'] == pytest.approx(100 * (acc[3] + acc[4]) / 2)


def test_empty_split_is_left_out_not_zero(tmp_path):
    # no class has <= 100 training images: medium and few are empty (issue 16, item 7)
    metrics, _ = evaluate(dict(type='LongTailAccuracy', class_counts=[500] * 7, save_dir=str(tmp_path)),
                          constructed_samples())
    for name in ('medium', 'few'):
        assert f'accuracy/{name}' not in metrics and f'accuracy/ece_{name}' not in metrics
    assert metrics['accuracy/many'] == pytest.approx(expected_metrics()['accuracy/mean_class'])
    assert metrics['accuracy/ece_many'] == pytest.approx(expected_metrics()['accuracy/ece'])
    data = json.loads((tmp_path / 'per_class_acc' / 'eval.json').read_text())
    assert data['empty_splits'] == ['medium', 'few']
    assert data['summary']['medium'] is None and data['summary']['few'] is None
    # a split whose classes are all absent from the evaluated set is empty too
    samples = [s for s in constructed_samples() if int(s.gt_label) not in (5, 6)]
    metrics, _ = evaluate(dict(type='LongTailAccuracy', class_counts=COUNTS, save_per_class=False), samples)
    assert 'accuracy/few' not in metrics and metrics['accuracy/many'] == pytest.approx(100 * (0 + 0.25) / 2)


def test_calibration_off_and_non_probability_scores():
    metrics, _ = evaluate(dict(type='LongTailAccuracy', class_counts=COUNTS, calibration=False,
                               save_per_class=False), constructed_samples())
    assert not any('ece' in k for k in metrics)
    logits = [DataSample().set_gt_label(int(s.gt_label)).set_pred_score(10 * s.pred_score - 3)
              for s in constructed_samples()]  # raw logits: no ECE (a warning), accuracies unchanged
    metrics, _ = evaluate(dict(type='LongTailAccuracy', class_counts=COUNTS, save_per_class=False), logits)
    assert not any('ece' in k for k in metrics)
    assert metrics['accuracy/top1'] == pytest.approx(expected_metrics()['accuracy/top1'])
    with pytest.raises(ValueError, match='n_bins'):
        METRICS.build(dict(type='LongTailAccuracy', n_bins=0))


def test_errors_name_what_is_missing():
    with pytest.raises(ClassCountsError, match='ClassCountsHook'):
        evaluate(dict(type='LongTailAccuracy', save_per_class=False), constructed_samples())
    with pytest.raises(ValueError, match='outputs 7 scores.*8 classes'):
        evaluate(dict(type='LongTailAccuracy', class_counts=COUNTS + [3], save_per_class=False),
                 constructed_samples())
    with pytest.raises(ClassCountsError, match='num_classes=5'):
        METRICS.build(dict(type='LongTailAccuracy', num_classes=5, class_counts=COUNTS))


def test_per_class_files(tmp_path):
    evaluate(dict(type='LongTailAccuracy', class_counts=COUNTS, save_dir=str(tmp_path)), constructed_samples())
    out = tmp_path / 'per_class_acc'
    assert sorted(os.listdir(out)) == ['eval.csv', 'eval.json', 'eval.png', 'eval_reliability.png']
    with open(out / 'eval.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['split'] for r in rows] == ['many', 'many', 'medium', 'medium', 'medium', 'few', 'few']
    assert [int(r['train_count']) for r in rows] == COUNTS
    assert [float(r['accuracy']) for r in rows] == pytest.approx([(c % 5) / 4 for c in range(7)])
    data = json.loads((out / 'eval.json').read_text())
    assert data['summary']['medium'] == pytest.approx(expected_metrics()['accuracy/medium'])
    assert (out / 'eval.png').stat().st_size > 1000
    assert (out / 'eval_reliability.png').stat().st_size > 1000
    calib = data['calibration']
    assert calib['n_bins'] == 15 and calib['bins']['count'][13] == 28 and sum(calib['bins']['count']) == 28
    assert calib['bins']['accuracy'][13] == pytest.approx(11 / 28) and calib['bins']['accuracy'][0] is None
    assert data['summary']['ece'] == pytest.approx(expected_metrics()['accuracy/ece'])


# ---------------------------------------------------------------- DDP
def _ddp_eval(rank, world_size, save_dir):
    samples = constructed_samples()[rank::world_size]  # DefaultSampler's interleaved share
    metric = METRICS.build(dict(type='LongTailAccuracy', class_counts=COUNTS, topk=(1, 2), save_dir=save_dir))
    evaluator = Evaluator(metric)
    evaluator.process(samples)
    return evaluator.evaluate(28)


def test_ddp_gathers_all_ranks(tmp_path):
    out = run_distributed(_ddp_eval, 2, str(tmp_path))
    assert out[0] == out[1]
    assert out[0] == pytest.approx(expected_metrics(), abs=1e-9)
    assert (tmp_path / 'per_class_acc' / 'eval.csv').exists()  # written once, by rank 0


# ---------------------------------------------------------------- a real run: ClassCountsHook feeds the metric
def test_training_run_feeds_counts_and_writes_per_class_files(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets/digits_lt.py'))
    cfg.merge_from_dict(dict(
        default_scope='mmpretrain',
        custom_hooks=[dict(type='ClassCountsHook')],
        model=dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=8),
                   neck=dict(type='GlobalAveragePooling'),
                   head=dict(type='LinearClsHead', num_classes=10, in_channels=64)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=[dict(type='OffsetCosineAnnealingLR', T_max=2)],
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1), val_cfg=dict(), test_cfg=dict(),
        work_dir=str(tmp_path), default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=100)),
        log_level='WARNING'))
    cfg.train_dataloader.sampler = dict(type='ClassBalancedSampler')
    runner = Runner.from_cfg(cfg)
    runner.train()
    metric = runner.val_evaluator.metrics[0]
    assert metric.class_counts.tolist() == [120, 86, 61, 44, 31, 22, 16, 11, 8, 6]
    assert runner.train_dataloader.sampler.epoch == 1  # DistSamplerSeedHook called set_epoch
    files = sorted(os.listdir(osp.join(runner.log_dir, 'per_class_acc')))
    assert files == ['val_epoch_1.csv', 'val_epoch_1.json', 'val_epoch_1.png', 'val_epoch_1_reliability.png',
                     'val_epoch_2.csv', 'val_epoch_2.json', 'val_epoch_2.png', 'val_epoch_2_reliability.png']
    metrics = runner.test()
    assert set(metrics) >= {'accuracy/top1', 'accuracy/many', 'accuracy/medium', 'accuracy/few', 'accuracy/ece',
                            'accuracy/classwise_ece'}
    assert osp.exists(osp.join(runner.log_dir, 'per_class_acc', 'test.csv'))
