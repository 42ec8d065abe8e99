# Decoupling, stage 2: classifier re-training (cRT) on the Fashion-MNIST-LT IF 100 stage-1 model: backbone + neck loaded
# and frozen, the linear classifier re-initialised and trained with class-balanced sampling (4 images per class).
#   python tools/train.py configs/decoupling/crt_cifar-resnet8_fashion-mnist-lt-if100.py \
#       --cfg-options load_from=work_dirs/joint_cifar-resnet8_fashion-mnist-lt-if100/epoch_12.pth
_base_ = ['./joint_cifar-resnet8_fashion-mnist-lt-if100.py']
load_from = 'work_dirs/joint_cifar-resnet8_fashion-mnist-lt-if100/epoch_12.pth'

train_dataloader = dict(sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
custom_hooks = [
    dict(type='ClassCountsHook'),
    dict(type='FreezeModulesHook', modules=['backbone', 'neck'], reinit=['head.fc'], norm_eval=False),
]
find_unused_parameters = True  # distributed runs: the frozen parameters get no gradient

param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=3, eta_min=0.0, by_epoch=True, begin=0, end=3)]
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=3)
