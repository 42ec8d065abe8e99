# ImageNet-LT data as in classifier-balancing (data/dataloader.py): RandomResizedCrop 224 + flip + ColorJitter(0.4, 0.4,
# 0.4, 0) for training, Resize 256 + CenterCrop 224 for val/test, ImageNet mean/std. Batch 512 = 8 GPUs x 64.
# Model selection on val (20 images per class from the ILSVRC train folder), numbers reported on test (ILSVRC val).
dataset_type = 'ImageNetLT'
data_root = 'data/imagenet'  # holds ImageNet_LT_{train,val,test}.txt and the train/ and val/ image folders
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
    sampler=dict(type='InstanceBalancedSampler'),
    drop_last=True,  # an epoch is int(N / 512) = 226 steps, as officially (whatever the sampler)
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
