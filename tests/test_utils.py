"""ltplug.utils: dataset-wrapper unwrapping (with the repeat counts of ClassBalancedDataset) and checkpoint shapes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset, ClassBalancedDataset, ConcatDataset, RepeatDataset

from ltplug.utils import CheckpointShapeError, check_checkpoint_shapes, dataset_leaves


class _Tiny(BaseDataset):
    """Images with one label each (labels given), no files."""

    def __init__(self, labels):
        self._labels = list(labels)
        super().__init__(serialize_data=False)

    def load_data_list(self):
        return [dict(gt_label=y) for y in self._labels]

    def get_cat_ids(self, idx):
        return [self._labels[idx]]


def test_dataset_leaves_unwraps_and_counts_class_balanced_repeats():
    a, b, c = _Tiny([0, 0, 0, 1]), _Tiny([1]), _Tiny([2, 2])
    cbd = ClassBalancedDataset(a, oversample_thr=0.5)  # class 1 is in 1 of 4 images: repeat factor sqrt(0.5/0.25)
    [(leaf, reps)] = dataset_leaves(cbd)
    assert leaf is a
    assert reps.tolist() == np.bincount(np.asarray(cbd.repeat_indices), minlength=4).tolist()
    assert reps.tolist() == [1, 1, 1, 2]  # ceil(sqrt(2)) repeats of the rare image
    # Concat is flattened; RepeatDataset repeats every image alike: no weights
    assert dataset_leaves(ConcatDataset([b, c])) == [(b, None), (c, None)]
    assert dataset_leaves(RepeatDataset(b, times=3)) == [(b, None)]
    assert dataset_leaves(c) == [(c, None)]


def test_check_checkpoint_shapes_names_the_keys():
    module = torch.nn.Linear(3, 2)
    check_checkpoint_shapes(module, {'fc.weight': torch.zeros(2, 3)}, 'fc.', {'weight': (2, 3)}, 'head.num_classes=2')
    check_checkpoint_shapes(module, {}, 'fc.', {'weight': (2, 3)}, 'head.num_classes=2')  # absent keys are fine
    with pytest.raises(CheckpointShapeError, match=r'fc\.weight of shape \(4, 3\).*\(2, 3\) \(head.num_classes=2\)'):
        check_checkpoint_shapes(module, {'fc.weight': torch.zeros(4, 3)}, 'fc.', {'weight': (2, 3)},
                                'head.num_classes=2')
    with pytest.raises(CheckpointShapeError, match='looks transposed'):
        check_checkpoint_shapes(module, {'weight': torch.zeros(3, 2)}, '', {'weight': (2, 3)}, 'x')
