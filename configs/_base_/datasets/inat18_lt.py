# iNaturalist 2018 (METHODS.md sections 0.3, 4.4): 8142 classes, train 437,513 images; the official val list (24,426,
# 3 per class) is both val and test, as in the papers. Official `path label` lists under data_root:
#   data/inat2018/iNaturalist18_{train,val}.txt, images data/inat2018/train_val2018/<kingdom>/<id>/... (docs/datasets.md).
# Pipelines of classifier-balancing for iNat: RandomResizedCrop 224, flip (no ColorJitter);
# test Resize 256 (short edge) / CenterCrop 224; the iNat mean / std (0.466, 0.471, 0.380) / (0.195, 0.194, 0.192)
# times 255. Pillow resizing, bilinear, as torchvision.
# Every method config takes its data from here and overrides only what its recipe changes (per-GPU batch size,
# sampler, multi-view training pipelines).
dataset_type = 'INat2018LT'
data_root = 'data/inat2018'
data_preprocessor = dict(
    num_classes=8142,
    mean=[118.83, 120.105, 96.9],
    std=[49.725, 49.47, 48.96],
    to_rgb=True,  # LoadImageFromFile reads BGR
)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bilinear'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,  # per GPU; the official runs use 512 (decoupling) or 256 (BCL) in total
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
# many > 100, medium 20..100 (inclusive), few < 20 training images: commonly 842 / 4076 / 3224 classes
val_evaluator = dict(type='LongTailAccuracy', num_classes=8142, many_thr=100, few_thr=20, topk=(1, 5))
test_evaluator = val_evaluator
