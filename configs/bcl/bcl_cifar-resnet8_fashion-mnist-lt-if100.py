# BCL on Fashion-MNIST-LT IF 100 (fast protocol, configs/_base_/datasets/fashion_mnist_lt.py): CifarResNet-8 + cosine
# classifier with logit-adjusted CE on view 1, BCL loss with class prototypes on views 2 and 3 (one encoder pass over
# the 3 views), BCL's per-epoch cosine; same epochs and batch as the joint-CE baseline.
#   python tools/train.py configs/bcl/bcl_cifar-resnet8_fashion-mnist-lt-if100.py
_base_ = [
    '../_base_/datasets/fashion_mnist_lt.py',
    '../_base_/models/bcl_cifar_resnet32.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=8), head=dict(num_classes=10))

# view 1: the classification pipeline of the base; views 2/3: SimAugment without hue / grey-scale (grey images) and
# SimAugment + RandAugment rand-n2-m10-mstd0.5 (timm's original op set, as BCL)
cls_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
sim_pipeline = [
    dict(type='RandomResizedCrop', scale=28, crop_ratio_range=(0.5, 1.0), backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomApply', transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4)], prob=0.8),
]
rand_pipeline = sim_pipeline + [
    dict(type='TimmRandAugment', num_policies=2, magnitude_level=10, magnitude_std=0.5, pad_val=0),
]
train_pipeline = [
    dict(type='BCLMultiView', cls_pipeline=cls_pipeline, sim_pipeline=sim_pipeline, rand_pipeline=rand_pipeline,
         cl_views='sim-sim'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
# BCL's adjust_lr: epoch e trains at lr0 / 2 (1 + cos(pi (e + 1 - W) / (E - W + 1))) (docs/methods.md §0.4)
param_scheduler = [dict(type='BCLCosineLR', num_epochs=12, warmup_epochs=0, by_epoch=True, begin=0, end=12)]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=12)
val_cfg = dict()
test_cfg = dict()
