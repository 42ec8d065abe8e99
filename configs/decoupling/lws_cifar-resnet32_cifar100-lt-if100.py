# Decoupling stage 2, LWS on CIFAR-100-LT (IF 100): stage-1 backbone and classifier frozen, per-class scales trained
# 5 epochs with class-balanced sampling, CE, SGD 0.1, wd 5e-4 on the scales (ltplug's recipe, see README).
#   python tools/train.py configs/decoupling/lws_cifar-resnet32_cifar100-lt-if100.py
_base_ = [
    '../_base_/models/decoupling_cifar_resnet32.py',
    '../_base_/datasets/cifar100_lt.py',
    '../_base_/default_runtime.py',
]
load_from = 'work_dirs/joint_cifar-resnet32_cifar100-lt-if100/epoch_200.pth'
model = dict(head=dict(type='LWSClsHead'))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=5, eta_min=0.0, by_epoch=True, begin=0, end=5)]
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=1)
val_cfg = dict()
test_cfg = dict()
train_dataloader = dict(sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
custom_hooks = [
    dict(type='ClassCountsHook'),
    # backbone + neck frozen (the head freezes its own W, b); norm_eval=False is the official BatchNorm behaviour
    dict(type='FreezeModulesHook', modules=['backbone', 'neck'], norm_eval=False),
]
find_unused_parameters = True  # distributed runs: the frozen parameters get no gradient
