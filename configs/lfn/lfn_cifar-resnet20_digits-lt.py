# Category extrapolation ("Learning from Neighbors", Gran_LT) on the bundled long-tailed digits, from scratch on the CPU
# (about a minute with OMP_NUM_THREADS=1):
#   python tools/train.py configs/lfn/lfn_cifar-resnet20_digits-lt.py --work-dir work_dirs/lfn_digits
# Targets: DigitsLT train (10 classes, 120 ... 6 images). Auxiliary open-set neighbours: rotated / mirrored versions of
# held-out digit images (DigitsAux; none of them is a DigitsLT train / val / test image), 60 candidate classes of which
# the neighbour map lists 30 (each digit's rot90, hflip and vflip variants), so K = 10 + 30 = 40. The auxiliary classes
# are re-subsampled every epoch (Gran_LT re_arrange); the loss is the neighbour-silencing logit-adjusted CE over K;
# validation / test cover the 10 target classes only (the head drops the auxiliary rows).
_base_ = [
    '../_base_/datasets/digits_lt.py',
    '../_base_/schedules/digits_lt_sgd_30e.py',
    '../_base_/default_runtime.py',
]
num_target_classes = 10
num_aux_classes = 30  # auxiliary classes listed in the neighbour map (aux_classes='listed')
num_classes = num_target_classes + num_aux_classes

# the candidate pool (also what tools/lfn/propose_neighbours.py searches with --pool-config this file)
neighbour_pool = dict(type='DigitsAux', transforms=('rot90', 'rot180', 'rot270', 'hflip', 'vflip', 'transpose'),
                      imb_factor=20, n_max=120, seed=0)

data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,  # workers must see the per-epoch re-subsampling
    dataset=dict(
        _delete_=True,
        type='CategoryExtrapolationDataset',
        target=dict(type='DigitsLT', split='train', imb_factor=20, n_max=120, seed=0),
        auxiliary=neighbour_pool,
        neighbour_map='{{fileDirname}}/digits_neighbours.json',
        aux_classes='listed',
        reference_counts='target',  # m of an auxiliary class = its target's train count [INFER]
        quota=dict(high=100, low=20, cap=50),  # m > 100 -> 50, 20 < m <= 100 -> m, m <= 20 -> 50 (official)
        seed=0,
        pipeline={{_base_.train_pipeline}},
    ),
)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=20),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='ExtrapolationClsHead',
        num_classes=num_classes,
        num_target_classes=num_target_classes,
        in_channels=64,
        pre_norm=None,
        init_std=None,  # PyTorch's default Linear init when training from scratch (the official 2e-5 is for fine-tuning)
        loss=dict(type='NeighbourSilencingLoss', mask_type='no_fm_remove_normal_neg', tau=1.0, label_smoothing=0.1),
    ),
)
# evaluation on the target classes only; shot thresholds of the digits base (many > 50, few < 20)
val_evaluator = dict(type='LongTailAccuracy', num_classes=num_target_classes, many_thr=50, few_thr=20)
test_evaluator = val_evaluator
# counts of all K classes for the loss, target counts for the metric, set_epoch before every epoch
custom_hooks = [dict(type='CategoryExtrapolationHook')]

# mmengine's cosine (no one-epoch offset) instead of the base's offset cosine
param_scheduler = [dict(type='CosineAnnealingLR', T_max=30, eta_min=0.0, by_epoch=True, begin=0, end=30)]
