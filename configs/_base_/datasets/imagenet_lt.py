# ImageNet-LT (Liu et al. 2019; docs/methods.md §0.3, §1.7, §4.4): 1000 classes, train 115,846 images (1280..5 per
# class), val 20,000 (model selection), test 50,000 (what papers report). Official `path label` lists under data_root:
#   data/imagenet/ImageNet_LT_{train,val,test}.txt, images data/imagenet/{train,val}/<wnid>/... (docs/datasets.md).
# Pipelines of classifier-balancing / vMF-OP / BCL: RandomResizedCrop 224, flip, ColorJitter(0.4, 0.4, 0.4, 0);
# test Resize 256 (short edge) / CenterCrop 224; ImageNet mean / std. Pillow resizing, bilinear, as torchvision.
# Every method config takes its data from here and overrides only what its recipe changes (per-GPU batch size,
# sampler, multi-view training pipelines); places_lt.py and inat18_lt.py override only what differs.
dataset_type = 'ImageNetLT'
data_root = 'data/imagenet'
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,  # LoadImageFromFile reads BGR
)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bilinear'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.0),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,  # per GPU; the official runs use 512 (decoupling) or 256 (vMF-OP, BCL) in total
    num_workers=8,
    # kept alive across epochs: workers re-created each epoch would be re-seeded identically by mmengine and replay
    # the same augmentation random numbers every epoch (the official loaders draw fresh ones)
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),  # instance-balanced: a plain shuffle, as officially
    drop_last=True,  # an epoch is int(N / batch) iterations, the official convention
)
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# many > 100, medium 20..100 (inclusive), few < 20 training images: 385 / 479 / 136 classes
val_evaluator = dict(type='LongTailAccuracy', num_classes=1000, many_thr=100, few_thr=20, topk=(1, 5))
test_evaluator = val_evaluator
