# Decoupling, stage 2: classifier re-training (cRT) on the digits stage-1 model. The backbone + neck are loaded from
# stage 1 and frozen; the linear classifier is re-initialised (PyTorch default init) after loading and trained with
# class-balanced sampling (4 images per class, official ClassAwareSampler) and cross-entropy.
#   python tools/train.py configs/decoupling/crt_cifar-resnet8_digits-lt.py
# BatchNorm of the frozen backbone: norm_eval=False (default) is the official behaviour (batch statistics, running
# stats updated on the class-balanced data); norm_eval=True keeps them in eval mode. See configs/decoupling/README.md.
_base_ = ['./joint_cifar-resnet8_digits-lt.py']
load_from = 'work_dirs/joint_cifar-resnet8_digits-lt/epoch_30.pth'

train_dataloader = dict(sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
custom_hooks = [
    dict(type='ClassCountsHook'),
    dict(type='FreezeModulesHook', modules=['backbone', 'neck'], reinit=['head.fc'], norm_eval=False),
]
find_unused_parameters = True  # distributed runs: the frozen parameters get no gradient

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=10, eta_min=0.0, by_epoch=True, begin=0, end=10)]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=5)
