# Balanced CE (logit adjustment) on Fashion-MNIST-LT IF 100: the BalCE baseline of category extrapolation, targets only,
# logit-adjusted CE log(pi + 1e-9) with label smoothing 0.1 (NeighbourSilencingLoss, mask_type='unmask', K = C_tgt);
# network, data and schedule of the joint-CE baseline. The results table's "balanced CE" row: what logit adjustment
# alone buys, to compare with category extrapolation (lfn_cifar-resnet8_fashion-mnist-lt-if100.py), which uses it too.
#   python tools/train.py configs/lfn/balce_cifar-resnet8_fashion-mnist-lt-if100.py
_base_ = [
    '../_base_/datasets/fashion_mnist_lt.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=8),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        init_cfg=None,
        loss=dict(type='NeighbourSilencingLoss', num_classes=10, mask_type='unmask', tau=1.0, label_smoothing=0.1),
    ),
)
train_dataloader = dict(sampler=dict(_delete_=True, type='InstanceBalancedSampler'))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=12, eta_min=0.0, by_epoch=True, begin=0, end=12)]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=12)
val_cfg = dict()
test_cfg = dict()
