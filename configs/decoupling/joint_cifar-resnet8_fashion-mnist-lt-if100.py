# Decoupling, stage 1 (joint training, instance-balanced) on Fashion-MNIST-LT IF 100 (fast protocol: n_max 1,000,
# 2,478 train images, see configs/_base_/datasets/fashion_mnist_lt.py): CifarResNet-8 (16/32/64 channels, 28x28 input,
# 64-d pooled feature) + linear classifier with bias, cross-entropy, SGD with the official one-epoch-offset cosine.
#   python tools/train.py configs/decoupling/joint_cifar-resnet8_fashion-mnist-lt-if100.py
# Samplers of the results table: --cfg-options train_dataloader.sampler.type=ClassBalancedSampler (CB),
# SquareRootSampler (SR), ProgressivelyBalancedSampler (PB). Stage 2: crt_/lws_/taunorm_/ncm_*fashion-mnist-lt-if100.py.
_base_ = [
    '../_base_/datasets/fashion_mnist_lt.py',
    '../_base_/models/decoupling_cifar_resnet32.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=8), head=dict(num_classes=10, in_channels=64))
train_dataloader = dict(sampler=dict(_delete_=True, type='InstanceBalancedSampler'))

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
# epoch e trains at lr0 / 2 (1 + cos(pi (e + 1) / T)), the last epoch at 0 (docs/methods.md §0.4)
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=12, eta_min=0.0, by_epoch=True, begin=0, end=12)]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=12)
val_cfg = dict()
test_cfg = dict()
