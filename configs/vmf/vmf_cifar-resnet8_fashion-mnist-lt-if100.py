# vMF classifier (vMF-OP, no auxiliary loss: the official vmf.yaml recipe) on Fashion-MNIST-LT IF 100 (fast protocol):
# CifarResNet-8 (64-d) + global pooling + VMFClsHead, instance-balanced sampling, softmax CE on the balanced vMF
# posterior, SGD with the official one-epoch-offset cosine, kappa without weight decay. Same network, data and schedule
# as configs/decoupling/joint_cifar-resnet8_fashion-mnist-lt-if100.py (the joint-CE baseline of the results table).
#   python tools/train.py configs/vmf/vmf_cifar-resnet8_fashion-mnist-lt-if100.py
# Calibration (alpha chosen on val, new checkpoint): tools/vmf/calibrate.py CONFIG CKPT --split val
_base_ = [
    '../_base_/datasets/fashion_mnist_lt.py',
    '../_base_/models/vmf_cifar_resnet32.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=8), head=dict(num_classes=10, in_channels=64))
train_dataloader = dict(sampler=dict(_delete_=True, type='InstanceBalancedSampler'))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'head.vmf.kappa': dict(decay_mult=0.0)}),  # no weight decay on kappa
)
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=12, eta_min=0.0, by_epoch=True, begin=0, end=12)]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=12)
val_cfg = dict()
test_cfg = dict()
