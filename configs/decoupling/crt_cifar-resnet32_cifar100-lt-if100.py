# Decoupling stage 2, cRT on CIFAR-100-LT (IF 100): stage-1 backbone frozen, classifier re-initialised and trained
# 10 epochs with class-balanced sampling (4 per class), CE, SGD 0.1, offset cosine (ltplug's recipe, see README).
#   python tools/train.py configs/decoupling/crt_cifar-resnet32_cifar100-lt-if100.py
_base_ = [
    '../_base_/models/decoupling_cifar_resnet32.py',
    '../_base_/datasets/cifar100_lt.py',
    '../_base_/default_runtime.py',
]
load_from = 'work_dirs/joint_cifar-resnet32_cifar100-lt-if100/epoch_200.pth'
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=10, eta_min=0.0, by_epoch=True, begin=0, end=10)]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()
train_dataloader = dict(sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
custom_hooks = [
    dict(type='ClassCountsHook'),
    # backbone + neck frozen; the classifier re-initialised after load_from (official cRT). norm_eval=False keeps the
    # official behaviour: frozen BatchNorm layers use batch statistics and update their running stats (see README)
    dict(type='FreezeModulesHook', modules=['backbone', 'neck'], reinit=['head.fc'], norm_eval=False),
]
find_unused_parameters = True  # distributed runs: the frozen parameters get no gradient
