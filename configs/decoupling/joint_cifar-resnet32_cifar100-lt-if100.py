# Decoupling stage 1 (joint) on CIFAR-100-LT (IF 100): CifarResNet-32 + linear classifier with bias, instance-balanced
# sampling, CE. The paper has no CIFAR experiment; this is ltplug's recipe (README): batch 128, 200 epochs, SGD 0.1 /
# momentum 0.9 / wd 5e-4, offset cosine to 0.
#   python tools/train.py configs/decoupling/joint_cifar-resnet32_cifar100-lt-if100.py
_base_ = [
    '../_base_/models/decoupling_cifar_resnet32.py',
    '../_base_/datasets/cifar100_lt.py',
    '../_base_/schedules/cifar_lt_sgd_200e.py',
    '../_base_/default_runtime.py',
]
# instance-balanced: ltplug's seeded plain reshuffle (official IB); batch 128 (the base's)
train_dataloader = dict(sampler=dict(_delete_=True, type='InstanceBalancedSampler'))
