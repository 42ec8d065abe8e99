# BCL on iNaturalist 2018: ResNet-50 from scratch, 100 epochs, the released recipe (README command): batch 256 in total
# (4 GPUs x 64), SGD lr 0.2 / momentum 0.9 / wd 1e-4, BCL's per-epoch cosine, iNat mean / std; the same three views
# and losses as ImageNet-LT (1.0 * logit-adjusted CE + 0.35 * BCL, tau 0.07, 1024-d). The official val list is the test set.
#   bash tools/dist_train.sh configs/bcl/bcl_resnet50_inat18.py 4
_base_ = [
    '../_base_/models/bcl_resnet50.py',
    '../_base_/datasets/inat18_lt.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=8142))

randaug = dict(type='TimmRandAugment', num_policies=2, magnitude_level=10, magnitude_std=0.5,
               pad_val=(104, 116, 124))  # the official RandAugment fill is the ImageNet mean, also on iNat
crop = dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0), backend='pillow', interpolation='bilinear')
flip = dict(type='RandomFlip', prob=0.5, direction='horizontal')
cls_pipeline = [
    crop, flip,
    dict(type='NumpyToPIL', to_rgb=True),
    dict(type='torchvision/ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.0),
    dict(type='PILToNumpy', to_bgr=True),
    randaug,
]
sim_pipeline = [
    crop, flip,
    dict(type='NumpyToPIL', to_rgb=True),
    dict(type='RandomApply', prob=0.8,
         transforms=[dict(type='torchvision/ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)]),
    dict(type='torchvision/RandomGrayscale', p=0.2),
    dict(type='PILToNumpy', to_bgr=True),
]
rand_pipeline = sim_pipeline + [randaug]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BCLMultiView', cls_pipeline=cls_pipeline, sim_pipeline=sim_pipeline, rand_pipeline=rand_pipeline,
         cl_views='sim-sim'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))  # x 4 GPUs = 256

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='BCLCosineLR', num_epochs=100, warmup_epochs=0, by_epoch=True, begin=0, end=100)]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
