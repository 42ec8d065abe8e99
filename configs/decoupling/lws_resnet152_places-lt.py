# Decoupling stage 2, LWS on Places-LT: stage-1 backbone and classifier frozen, per-class scales trained 5 epochs with
# class-balanced sampling, CE, lr 0.1, wd 5e-4 on the scales, batch 256, offset cosine.
#   bash tools/dist_train.sh configs/decoupling/lws_resnet152_places-lt.py 8
_base_ = [
    '../_base_/models/decoupling_resnet152.py',
    '../_base_/datasets/places_lt.py',
    '../_base_/default_runtime.py',
]
load_from = 'work_dirs/joint_resnet152_places-lt/epoch_30.pth'
# official Places-LT stage 2: classifier lr 0.1 (the feature lr is irrelevant: frozen), wd 5e-4, batch 256
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=5, eta_min=0.0, by_epoch=True, begin=0, end=5)]
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
# everything comes from the stage-1 checkpoint: no ImageNet initialisation of the backbone
model = dict(backbone=dict(init_cfg=None), head=dict(type='LWSClsHead'))
# per GPU: 8 x 32 = 256
train_dataloader = dict(batch_size=32, sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
custom_hooks = [
    dict(type='ClassCountsHook'),
    # backbone + neck frozen (the head freezes its own W, b); norm_eval=False is the official BatchNorm behaviour
    dict(type='FreezeModulesHook', modules=['backbone', 'neck'], norm_eval=False),
]
find_unused_parameters = True  # distributed runs: the frozen parameters get no gradient
