# Decoupling, stage 1 (joint training) on the bundled long-tailed digits: CifarResNet-8 + linear classifier with bias,
# instance-balanced sampling, cross-entropy, SGD with the official one-epoch-offset cosine. CPU: about a minute.
#   python tools/train.py configs/decoupling/joint_cifar-resnet8_digits-lt.py
# The stage-2 configs (crt_/lws_/taunorm_/ncm_*digits-lt.py) load work_dirs/joint_cifar-resnet8_digits-lt/epoch_30.pth.
_base_ = [
    '../_base_/datasets/digits_lt.py',
    '../_base_/models/decoupling_cifar_resnet32.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=8), head=dict(num_classes=10, in_channels=64))
train_dataloader = dict(sampler=dict(_delete_=True, type='InstanceBalancedSampler'))

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
# classifier-balancing steps its per-epoch cosine at the start of each epoch: epoch e trains at
# lr0 / 2 (1 + cos(pi (e + 1) / T)), the last epoch at 0 (METHODS.md section 0.4)
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=30, eta_min=0.0, by_epoch=True, begin=0, end=30)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
val_cfg = dict()
test_cfg = dict()
