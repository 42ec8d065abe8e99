# Decoupling, stage 1 (joint training) on the bundled long-tailed digits: CifarResNet-20 + linear classifier with bias,
# instance-balanced sampling, cross-entropy, SGD with the official one-epoch-offset cosine. CPU: a few minutes.
#   python tools/train.py configs/decoupling/joint_cifar-resnet20_digits-lt.py
# The stage-2 configs (crt_/lws_/taunorm_/ncm_*digits-lt.py) load work_dirs/joint_cifar-resnet20_digits-lt/epoch_30.pth.
_base_ = [
    '../_base_/models/decoupling_cifar_resnet32.py',
    '../_base_/datasets/digits_lt.py',
    '../_base_/schedules/digits_lt_sgd_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=20), head=dict(num_classes=10))
train_dataloader = dict(sampler=dict(_delete_=True, type='InstanceBalancedSampler'))
