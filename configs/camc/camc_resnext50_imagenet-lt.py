# CAMC (a labelled reconstruction: see README.md) on ImageNet-LT with ResNeXt-50 32x4d from scratch. The last stage map
# (N, 2048, 7, 7) goes to the CAM-calibrated cosine head (neck=None). The paper's recipe is unknown: data, batch 512 and
# the 90-epoch SGD schedule are those of the decoupling joint baseline (classifier-balancing), so that only the head
# differs from that baseline. Data layout: data/imagenet with ImageNet_LT_{train,val,test}.txt (METHODS.md section 0.3).
_base_ = ['../_base_/default_runtime.py']

dataset_type = 'ImageNetLT'
data_root = 'data/imagenet'
data_preprocessor = dict(num_classes=1000, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.0),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,  # per GPU: 8 x 64 = 512
    num_workers=8,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,
)
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='LongTailAccuracy', num_classes=1000, many_thr=100, few_thr=20, topk=(1, 5))
test_evaluator = val_evaluator

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNeXt', depth=50, num_stages=4, out_indices=(3,), groups=32, width_per_group=4,
                  style='pytorch'),
    neck=None,
    head=dict(
        type='CAMCalibratedClsHead',
        num_classes=1000,
        in_channels=2048,
        scale=16.0,  # the OLTR / decoupling ImageNet-LT cosine-classifier value
        train_cam_class='gt',
        pred_topk=1,
        norm='minmax',
        calib_weight=0.5,
        residual=True,
        momentum=0.9,
        calibrate_at_test=True,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=None,
        topk=(1, 5),
    ),
)

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=90, eta_min=0.0, by_epoch=True, begin=0, end=90)]
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)
