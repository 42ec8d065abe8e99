# The BalCE baseline of category extrapolation on the long-tailed digits: targets only (no auxiliary data), logit-
# adjusted CE log(pi + 1e-9) (NeighbourSilencingLoss with mask_type='unmask' and K = C_tgt), same network and schedule
# as lfn_cifar-resnet20_digits-lt.py. Its checkpoint is what tools/lfn/propose_neighbours.py proposes neighbours from.
#   python tools/train.py configs/lfn/balce_cifar-resnet20_digits-lt.py --work-dir work_dirs/balce_digits
_base_ = [
    '../_base_/datasets/digits_lt.py',
    '../_base_/schedules/digits_lt_sgd_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=20),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        init_cfg=None,
        loss=dict(type='NeighbourSilencingLoss', num_classes=10, mask_type='unmask', tau=1.0, label_smoothing=0.1),
    ),
)
val_evaluator = dict(type='LongTailAccuracy', num_classes=10, many_thr=50, few_thr=20)
test_evaluator = val_evaluator
# the candidate pool of tools/lfn/propose_neighbours.py (the same as the LFN config's)
neighbour_pool = dict(type='DigitsAux', transforms=('rot90', 'rot180', 'rot270', 'hflip', 'vflip', 'transpose'),
                      imb_factor=20, n_max=120, seed=0)

# mmengine's cosine (no one-epoch offset) instead of the base's offset cosine
param_scheduler = [dict(type='CosineAnnealingLR', T_max=30, eta_min=0.0, by_epoch=True, begin=0, end=30)]
