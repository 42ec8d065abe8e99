# Decoupling, stage 2: learnable weight scaling (LWS) on the digits stage-1 model. Backbone + neck and the stage-1
# classifier (W, b) are frozen; only the per-class scales f (init 1) of f * (W x + b) are trained, with class-balanced
# sampling, cross-entropy and weight decay on f (no paramwise_cfg: f decays like any parameter, as officially).
#   python tools/train.py configs/decoupling/lws_cifar-resnet8_digits-lt.py
_base_ = ['./joint_cifar-resnet8_digits-lt.py']
load_from = 'work_dirs/joint_cifar-resnet8_digits-lt/epoch_30.pth'

model = dict(head=dict(type='LWSClsHead'))
train_dataloader = dict(sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
custom_hooks = [
    dict(type='ClassCountsHook'),
    dict(type='FreezeModulesHook', modules=['backbone', 'neck'], norm_eval=False),
]
find_unused_parameters = True  # distributed runs: the frozen parameters get no gradient

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=5, eta_min=0.0, by_epoch=True, begin=0, end=5)]
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=5)
