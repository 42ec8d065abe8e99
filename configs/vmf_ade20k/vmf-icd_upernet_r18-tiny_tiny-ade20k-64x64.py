# CPU demo / test config: the UPerNet vMF config on the generated tiny ADE20K-format data set
#   python tools/misc/make_tiny_ade20k.py data/tiny_ade20k
#   tools/with_env.sh python tools/train.py configs/vmf_ade20k/vmf-icd_upernet_r18-tiny_tiny-ade20k-64x64.py
# A ResNetV1c-18 with 8..64 channels, BN instead of SyncBN, 64x64 crops, 300 iterations (about a minute on 2 cores).
_base_ = './vmf-icd_upernet_r50_4xb4-160k_ade20k-512x512.py'

norm_cfg = dict(type='BN', requires_grad=True)
crop_size = (64, 64)
data_root = 'data/tiny_ade20k'
max_iters = 300

model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, stem_channels=16, base_channels=8, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=[8, 16, 32, 64], channels=32, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=32, channels=16, norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(128, 64), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 64), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False)

# a fixed seed: the CPU demo / test runs are reproducible (mmengine picks a random one otherwise)
randomness = dict(seed=0)
