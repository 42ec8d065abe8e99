# CAMC (CAM-calibrated head + normalised classifier, a labelled reconstruction: see README.md) on Fashion-MNIST-LT
# IF 100 (fast protocol): CifarResNet-8 whose last stage map (N, 64, 7, 7) at 28x28 input goes to the head without a
# neck; head settings as the digits config (camc_cifar-resnet20_digits-lt.py); epochs and batch as the joint-CE baseline.
#   python tools/train.py configs/camc/camc_cifar-resnet8_fashion-mnist-lt-if100.py
_base_ = [
    '../_base_/datasets/fashion_mnist_lt.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=8),
    neck=None,  # the head needs the spatial map before pooling
    head=dict(
        type='CAMCalibratedClsHead',
        num_classes=10,
        in_channels=64,
        scale=30.0,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=None,
    ),
)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=12, eta_min=0.0, by_epoch=True, begin=0, end=12)]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=12)
val_cfg = dict()
test_cfg = dict()
