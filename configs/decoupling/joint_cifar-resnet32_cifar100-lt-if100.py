# Decoupling stage 1 (joint) on CIFAR-100-LT (IF 100): CifarResNet-32 + linear classifier with bias, instance-balanced
# sampling, CE. The paper has no CIFAR experiment; this is ltplug's recipe (README): batch 128, 200 epochs, SGD 0.1 /
# momentum 0.9 / wd 5e-4, offset cosine to 0.
#   python tools/train.py configs/decoupling/joint_cifar-resnet32_cifar100-lt-if100.py
_base_ = [
    '../_base_/models/decoupling_cifar_resnet32.py',
    '../_base_/datasets/cifar100_lt.py',
    '../_base_/default_runtime.py',
]
# instance-balanced: ltplug's seeded plain reshuffle (official IB); batch 128 (the base's)
train_dataloader = dict(sampler=dict(_delete_=True, type='InstanceBalancedSampler'))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=200, eta_min=0.0, by_epoch=True, begin=0, end=200)]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10)
val_cfg = dict()
test_cfg = dict()
