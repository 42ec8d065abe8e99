# vMF-OP on ImageNet-LT, official vmf.yaml: ResNeXt-50 32x4d from scratch + VMFClsHead (kappa init 16, log-prior
# training logits), two augmented views per image, 45 epochs, SGD 0.9, backbone lr 0.2 / wd 5e-4, classifier lr 0.1 with
# kappa wd 0, offset cosine to 0, seed 510, best checkpoint on val, report on test.
# Official setting: 4 GPUs x 64 images (x 2 views) = 256 images / 512 crops per step:
#   bash tools/dist_train.sh configs/vmf/vmf_resnext50_imagenet-lt.py 4
# Then sweep the calibration on val: python tools/vmf/calibrate.py CONFIG CKPT --out CKPT_calibrated.pth
_base_ = [
    '../_base_/models/vmf_resnext50.py',
    '../_base_/schedules/vmf_imagenet_lt_sgd_45e.py',
    '../_base_/default_runtime.py',
]
dataset_type = 'ImageNetLT'
data_root = 'data/imagenet'  # holds ImageNet_LT_{train,val,test}.txt and the train/ and val/ image folders
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[[
        dict(type='RandomResizedCrop', scale=224, backend='pillow'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.0),
    ]]),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,  # per GPU: 4 x 64 = 256 images = 512 crops per step
    num_workers=8,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),  # instance-balanced
    drop_last=True,  # an epoch is int(N / batch) steps, as officially
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
custom_hooks = [dict(type='ClassCountsHook'), dict(type='VMFCalibrationHook', alpha=1.0)]
randomness = dict(seed=510, deterministic=False)
