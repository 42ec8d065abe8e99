# Decoupling stage 1 (joint) on Places-LT: ResNet-152 initialised from ImageNet pre-training + linear classifier with
# bias, instance-balanced sampling, CE. The official repository ships no Places-LT stage-1 config; this follows the OLTR
# fine-tuning protocol the paper names; the numbers below are our choices, not taken from an official file.
#   bash tools/dist_train.sh configs/decoupling/joint_resnet152_places-lt.py 8
_base_ = [
    '../_base_/models/decoupling_resnet152.py',
    '../_base_/datasets/places_lt.py',
    '../_base_/default_runtime.py',
]
# instance-balanced: ltplug's seeded plain reshuffle (official IB); per GPU: 8 x 32 = 256
train_dataloader = dict(batch_size=32, sampler=dict(_delete_=True, type='InstanceBalancedSampler'))
# stage 1 fine-tunes the ImageNet-pretrained network (OLTR protocol): features at lr 0.01, classifier at 0.1 (lr_mult 10),
# wd 5e-4, batch 256, 30 epochs [our choice: no official file gives the length], offset cosine to 0
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
                     paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=30, eta_min=0.0, by_epoch=True, begin=0, end=30)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
