"""Many / medium / few split accuracy (ltplug.core.shot_metrics) on constructed cases with known answers."""
from __future__ import annotations

import numpy as np
import pytest

from ltplug.core import shot_metrics as M

# train counts on and around the inclusive boundaries: many > 100, medium 20..100, few < 20
COUNTS = np.array([150, 101, 100, 50, 20, 19, 5])
EXPECTED_SPLIT = ['many', 'many', 'medium', 'medium', 'medium', 'few', 'few']


def test_split_boundaries_are_inclusive_for_medium():
    split = M.shot_split(COUNTS)
    assert [M.SPLIT_NAMES[s] for s in split] == EXPECTED_SPLIT
    assert M.split_sizes(COUNTS) == {'many': 2, 'medium': 3, 'few': 2}
    assert [M.SPLIT_NAMES[s] for s in M.shot_split(np.array([51, 50, 20, 19]), 50, 20)] == \
        ['many', 'medium', 'medium', 'few']


def naive_shot_acc(preds, labels, train_counts, many_thr=100, few_thr=20):
    """Loop form of the official shot_acc (classes taken from the test labels, empty split -> 0)."""
    many, med, few = [], [], []
    for c in np.unique(labels):
        acc = float(np.sum(preds[labels == c] == c)) / float(np.sum(labels == c))
        if train_counts[c] > many_thr:
            many.append(acc)
        elif train_counts[c] < few_thr:
            few.append(acc)
        else:
            med.append(acc)
    return [float(np.mean(x)) if x else 0.0 for x in (many, med, few)]


def test_constructed_case():
    # class c has 4 test images of which c % 5 are right (class 4 all 4, class 6 one)
    labels = np.repeat(np.arange(7), 4)
    preds = labels.copy()
    for c in range(7):
        wrong = 4 - (c % 5)
        preds[c * 4:c * 4 + wrong] = (c + 1) % 7
    correct, total = M.per_class_correct(preds, labels, 7)
    assert correct.tolist() == [c % 5 for c in range(7)] and total.tolist() == [4] * 7
    acc = M.per_class_accuracy(correct, total)
    shots = M.shot_accuracies(acc, COUNTS)
    # many: classes 0,1 -> (0 + 1/4)/2; medium: classes 2,3,4 -> (2/4 + 3/4 + 4/4)/3; few: classes 5,6 -> (0 + 1/4)/2
    assert shots['many'] == pytest.approx((0 + 0.25) / 2, abs=1e-15)
    assert shots['medium'] == pytest.approx((0.5 + 0.75 + 1.0) / 3, abs=1e-15)
    assert shots['few'] == pytest.approx((0 + 0.25) / 2, abs=1e-15)
    assert list(shots.values()) == pytest.approx(naive_shot_acc(preds, labels, COUNTS), abs=1e-15)


def test_split_accuracy_is_macro_not_micro():
    # medium classes 2 (1 image, right) and 3 (9 images, all wrong): macro 0.5, micro 0.1
    labels = np.array([2] + [3] * 9)
    preds = np.array([2] + [0] * 9)
    shots = M.shot_accuracies(M.per_class_accuracy(*M.per_class_correct(preds, labels, 7)), COUNTS)
    assert shots['medium'] == pytest.approx(0.5)


def test_empty_split_is_zero_and_absent_classes_are_skipped():
    counts = np.array([500, 300, 60])  # no few class
    labels = np.array([0, 0, 2, 2])  # class 1 absent from the evaluated set
    preds = np.array([0, 1, 2, 2])
    acc = M.per_class_accuracy(*M.per_class_correct(preds, labels, 3))
    assert np.isnan(acc[1])
    shots = M.shot_accuracies(acc, counts)
    assert shots == {'many': 0.5, 'medium': 1.0, 'few': 0.0}
    assert list(shots.values()) == pytest.approx(naive_shot_acc(preds, labels, counts))


def test_random_case_against_the_loop_reference():
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 300, size=40)
    labels = rng.integers(0, 40, size=2000)
    preds = np.where(rng.random(2000) < 0.6, labels, rng.integers(0, 40, size=2000))
    shots = M.shot_accuracies(M.per_class_accuracy(*M.per_class_correct(preds, labels, 40)), counts)
    assert list(shots.values()) == pytest.approx(naive_shot_acc(preds, labels, counts), abs=1e-12)


def test_topk_correct_matches_a_sort_reference():
    rng = np.random.default_rng(1)
    scores = rng.random((300, 12))
    targets = rng.integers(0, 12, 300)
    for k in (1, 3, 5):
        ref = np.array([t in np.argsort(-s, kind='stable')[:k] for s, t in zip(scores, targets)])
        assert np.array_equal(M.topk_correct(scores, targets, k), ref)
    assert np.array_equal(M.topk_correct(scores, targets, 1), scores.argmax(1) == targets)


def test_bad_input():
    with pytest.raises(ValueError, match='must lie in'):
        M.per_class_correct(np.array([0, 1]), np.array([0, 9]), 3)
    with pytest.raises(ValueError, match='few_thr'):
        M.shot_split(COUNTS, many_thr=10, few_thr=20)
    with pytest.raises(ValueError, match='top-13'):
        M.topk_correct(np.zeros((2, 12)), np.array([0, 1]), 13)
