# Category extrapolation ("Learning from Neighbors", Gran_LT) on Fashion-MNIST-LT IF 100 (fast protocol), from scratch:
#   python tools/train.py configs/lfn/lfn_cifar-resnet8_fashion-mnist-lt-if100.py
# Targets: the LongTailSubset train split of the base (10 classes, 1000 ... 10 images). Auxiliary open-set neighbours:
# rotated copies (rot90, rot180) of Fashion-MNIST train images that neither the long-tailed train subsample nor val uses
# (HeldOutTransformed, 100 source images per class; test images are a separate file), 20 classes, all listed in the
# neighbour map, so K = 10 + 20 = 30. Auxiliary classes are re-subsampled every epoch (Gran_LT re_arrange); the loss is
# the neighbour-silencing logit-adjusted CE over K; val / test cover the 10 target classes only. Its control without
# auxiliary data is balce_cifar-resnet8_fashion-mnist-lt-if100.py (same loss, same schedule).
_base_ = [
    '../_base_/datasets/fashion_mnist_lt.py',
    '../_base_/default_runtime.py',
]
num_target_classes = 10
num_aux_classes = 20
num_classes = num_target_classes + num_aux_classes

# the target split without a pipeline (the extrapolation wrapper runs the pipeline on the merged samples)
target_split = dict(type='LongTailSubset', imb_factor=100, n_max=1000, seed=0, num_val=100, split_seed=0,
                    split='train', dataset=dict(type='FashionMNISTGz', data_root={{_base_.fmnist_root}}, split='train'))
neighbour_pool = dict(type='HeldOutTransformed', subset=target_split, transforms=('rot90', 'rot180'), max_per_class=100)

data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    persistent_workers=False,  # workers must see the per-epoch re-subsampling
    dataset=dict(
        _delete_=True,
        type='CategoryExtrapolationDataset',
        target=target_split,
        auxiliary=neighbour_pool,
        neighbour_map='{{fileDirname}}/fashion_mnist_neighbours.json',
        aux_classes='listed',
        reference_counts='target',  # m of an auxiliary class = its target's train count
        quota=dict(high=100, low=20, cap=50),  # m > 100 -> 50, 20 < m <= 100 -> m, m <= 20 -> 50 (official)
        seed=0,
        pipeline={{_base_.train_pipeline}},
    ),
)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=8),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='ExtrapolationClsHead',
        num_classes=num_classes,
        num_target_classes=num_target_classes,
        in_channels=64,
        pre_norm=None,
        init_std=None,  # PyTorch's default Linear init when training from scratch
        loss=dict(type='NeighbourSilencingLoss', mask_type='no_fm_remove_normal_neg', tau=1.0, label_smoothing=0.1),
    ),
)
val_evaluator = dict(type='LongTailAccuracy', num_classes=num_target_classes, many_thr=100, few_thr=20)
test_evaluator = val_evaluator
custom_hooks = [dict(type='CategoryExtrapolationHook')]

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=12, eta_min=0.0, by_epoch=True, begin=0, end=12)]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=12)
val_cfg = dict()
test_cfg = dict()
