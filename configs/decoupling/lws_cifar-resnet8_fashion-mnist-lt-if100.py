# Decoupling, stage 2: learnable weight scaling (LWS) on the Fashion-MNIST-LT IF 100 stage-1 model: backbone, neck and
# the stage-1 classifier frozen; only the per-class scales f of f * (W x + b) train, class-balanced sampling.
#   python tools/train.py configs/decoupling/lws_cifar-resnet8_fashion-mnist-lt-if100.py \
#       --cfg-options load_from=work_dirs/joint_cifar-resnet8_fashion-mnist-lt-if100/epoch_12.pth
_base_ = ['./joint_cifar-resnet8_fashion-mnist-lt-if100.py']
load_from = 'work_dirs/joint_cifar-resnet8_fashion-mnist-lt-if100/epoch_12.pth'

model = dict(head=dict(type='LWSClsHead'))
train_dataloader = dict(sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
custom_hooks = [
    dict(type='ClassCountsHook'),
    dict(type='FreezeModulesHook', modules=['backbone', 'neck'], norm_eval=False),
]
find_unused_parameters = True  # distributed runs: the frozen parameters get no gradient

param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=3, eta_min=0.0, by_epoch=True, begin=0, end=3)]
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=3)
