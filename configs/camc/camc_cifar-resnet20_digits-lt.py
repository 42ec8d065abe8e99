# CAMC (CAM-calibrated head + normalised classifier, a labelled reconstruction: see README.md) on the bundled long-tailed
# digits: CifarResNet-20 whose last stage map (N, 64, H, W) goes to the head without a neck. The 8x8 digits are resized
# to 16x16 so the map has 4x4 locations (at 8x8 input it would be 2x2). CPU: about a minute.
#   python tools/train.py configs/camc/camc_cifar-resnet20_digits-lt.py --work-dir work_dirs/camc_digits
_base_ = [
    '../_base_/datasets/digits_lt.py',
    '../_base_/schedules/digits_lt_sgd_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=20),
    neck=None,  # the head needs the spatial map before pooling
    head=dict(
        type='CAMCalibratedClsHead',
        num_classes=10,
        in_channels=64,
        scale=30.0,               # s of the cosine classifier (30, the scale of BCL's NormedLinear; our choice)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=None,
    ),
)
train_pipeline = [
    dict(type='RandomCrop', crop_size=8, padding=1),
    dict(type='Resize', scale=(16, 16), interpolation='bilinear'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=(16, 16), interpolation='bilinear'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

# mmengine's cosine (no one-epoch offset) instead of the base's offset cosine
param_scheduler = [dict(type='CosineAnnealingLR', T_max=30, eta_min=0.0, by_epoch=True, begin=0, end=30)]
