# Decoupling stage 2, LWS on Places-LT: stage-1 backbone and classifier frozen, per-class scales trained 5 epochs with
# class-balanced sampling, CE, lr 0.1, wd 5e-4 on the scales, batch 256, offset cosine.
#   bash tools/dist_train.sh configs/decoupling/lws_resnet152_places-lt.py 8
_base_ = [
    '../_base_/models/decoupling_resnet152.py',
    '../_base_/datasets/places_lt.py',
    '../_base_/schedules/decoupling_stage2_5e.py',
    '../_base_/decoupling_stage2_runtime.py',
]
load_from = 'work_dirs/joint_resnet152_places-lt/epoch_30.pth'
# everything comes from the stage-1 checkpoint: no ImageNet initialisation of the backbone; the head freezes its W, b
model = dict(backbone=dict(init_cfg=None), head=dict(type='LWSClsHead'))
# official Places-LT stage 2: classifier lr 0.1 (the feature lr is irrelevant: frozen), wd 5e-4, batch 256
optim_wrapper = dict(optimizer=dict(lr=0.1))
auto_scale_lr = dict(base_batch_size=256)
# per GPU: 8 x 32 = 256
train_dataloader = dict(batch_size=32, sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
