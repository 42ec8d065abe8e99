"""Every ltplug hook, one a file, in mmengine's root ``HOOKS``: mmpretrain, mmseg and mmdet configs all see them.

* ``class_counts.py``: ``ClassCountsHook``, per-class training counts to every ``set_class_counts``;
* ``det_class_counts.py``: ``DetClassCountsHook``, the same with per-class instance counts (mmdet, LVIS);
* ``seg_pixel_counts.py``: ``SegPixelCountsHook``, the same with per-class training pixel counts (mmseg);
* ``category_extrapolation.py``: ``CategoryExtrapolationHook``, counts, neighbour pairs and the per-epoch re-draw of
  the auxiliary classes (category extrapolation);
* ``freeze.py``: ``FreezeModulesHook``, stage-2 freezing and re-initialisation, or a head-only warm-up;
* ``class_weight.py``: ``ClassWeightHook``, per-class loss weights (class-balanced / inverse power) from the counts;
* ``drw.py``: ``DeferredReweightingHook``, the same switched on at a given epoch (LDAM-DRW);
* ``eval_time.py``: ``EvalTimeHook``, the base of the two below: a change applied for val / test only, then undone;
* ``logit_adjust.py``: ``PosthocLogitAdjustHook``, post-hoc logit adjustment during val / test;
* ``vmf_calibration.py``: ``VMFCalibrationHook``, vMF-OP calibration during val / test, undone afterwards;
* ``run_state.py``: ``RunStateHook``, per-epoch / per-iteration seeding for an exact resume, and never removing
  another run's checkpoints (``tools/train.py`` adds it to every run).

The task-specific hooks import their mmseg / mmdet / mmpretrain helpers only when they run, so this package needs
mmengine alone.
"""
from .category_extrapolation import CategoryExtrapolationHook
from .class_counts import ClassCountsHook, iter_class_count_consumers, train_dataset
from .class_weight import ClassWeightHook
from .det_class_counts import DetClassCountsHook
from .drw import DeferredReweightingHook
from .eval_time import EvalTimeHook
from .freeze import FreezeModulesHook
from .logit_adjust import PosthocLogitAdjustHook
from .run_state import RunStateHook
from .seg_pixel_counts import SegPixelCountsHook
from .vmf_calibration import VMFCalibrationHook, find_vmf_classifiers

__all__ = [
    'CategoryExtrapolationHook',
    'ClassCountsHook',
    'ClassWeightHook',
    'DeferredReweightingHook',
    'DetClassCountsHook',
    'EvalTimeHook',
    'FreezeModulesHook',
    'PosthocLogitAdjustHook',
    'RunStateHook',
    'SegPixelCountsHook',
    'VMFCalibrationHook',
    'find_vmf_classifiers',
    'iter_class_count_consumers',
    'train_dataset',
]
