# BCL on CIFAR-100-LT (IF 100): CifarResNet-32. The official repository has NO CIFAR training code (docs/methods.md §3.1);
# every value below marked [unverified] is our choice for this recipe (docs/methods.md §3.6), NOT checked against the paper;
# [INFER] marks our own choices. See configs/bcl/README.md.
#   python tools/train.py configs/bcl/bcl_cifar-resnet32_cifar100-lt-if100.py
_base_ = [
    '../_base_/models/bcl_cifar_resnet32.py',  # MLP 64 -> 512 -> 128, tau 0.1, alpha 2.0, beta 0.6 [unverified]
    '../_base_/datasets/cifar100_lt.py',
    '../_base_/schedules/cifar_lt_sgd_200e.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=100))

# view 1: pad-4 crop, flip, AutoAugment, Cutout 16 [unverified]. mmpretrain ships the ImageNet AutoAugment policy only; it
# stands in for the CIFAR policy [INFER]. Cutout fills with the mean pixel (zero after normalisation) [INFER].
cls_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='AutoAugment', policies='imagenet', hparams=dict(pad_val=128)),
    dict(type='Cutout', shape=16, pad_val=(129, 124, 112), prob=1.0),
]
# views 2 / 3: SimAugment at 32 px [unverified]; the pickles are RGB, so no channel swap around the PIL colour ops
sim_pipeline = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.08, 1.0), backend='pillow', interpolation='bilinear'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='NumpyToPIL', to_rgb=False),
    dict(type='RandomApply', prob=0.8,
         transforms=[dict(type='torchvision/ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)]),
    dict(type='torchvision/RandomGrayscale', p=0.2),
    dict(type='PILToNumpy', to_bgr=False),
]
rand_pipeline = sim_pipeline + [
    dict(type='TimmRandAugment', num_policies=2, magnitude_level=10, magnitude_std=0.5, pad_val=(129, 124, 112)),
]
train_pipeline = [
    dict(type='BCLMultiView', cls_pipeline=cls_pipeline, sim_pipeline=sim_pipeline, rand_pipeline=rand_pipeline,
         cl_views='sim-sim'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=256, dataset=dict(pipeline=train_pipeline))  # batch 256 [unverified]

# the base's SGD momentum 0.9, wd 5e-4, 200 epochs [unverified] and lr 0.1 [our choice], with 5 warm-up epochs then
# BCL's cosine [unverified]
param_scheduler = [dict(type='BCLCosineLR', num_epochs=200, warmup_epochs=5, by_epoch=True, begin=0, end=200)]
auto_scale_lr = dict(base_batch_size=256)
