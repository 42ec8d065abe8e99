# BCL on the bundled long-tailed digits (CPU demo, about a minute): CifarResNet-20 + cosine classifier with logit-adjusted CE
# on view 1, BCL loss with class prototypes on views 2 and 3 (one encoder pass over the 3 views), BCL's per-epoch cosine.
#   python tools/train.py configs/bcl/bcl_cifar-resnet20_digits-lt.py
# Other contrastive views (sim-rand, rand-rand):
#   python tools/train.py configs/bcl/bcl_cifar-resnet20_digits-lt.py --cfg-options train_dataloader.dataset.pipeline.0.cl_views=rand-rand
_base_ = [
    '../_base_/models/bcl_cifar_resnet32.py',
    '../_base_/datasets/digits_lt.py',
    '../_base_/schedules/digits_lt_sgd_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=20), head=dict(num_classes=10))

# view 1: the digits classification pipeline; views 2/3: small-image analogues of SimAugment (no flip / hue / grey on
# digits) and SimAugment + RandAugment rand-n2-m10-mstd0.5 (timm's original op set, as BCL)
cls_pipeline = [dict(type='RandomCrop', crop_size=8, padding=1)]
sim_pipeline = [
    dict(type='RandomResizedCrop', scale=8, crop_ratio_range=(0.5, 1.0), backend='pillow'),
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# BCL's adjust_lr instead of the base's offset cosine: epoch e trains at lr0 / 2 (1 + cos(pi (e + 1 - W) / (E - W + 1)))
# (docs/methods.md §0.4)
param_scheduler = [dict(type='BCLCosineLR', num_epochs=30, warmup_epochs=0, by_epoch=True, begin=0, end=30)]
