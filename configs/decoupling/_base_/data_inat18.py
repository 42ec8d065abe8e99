# iNaturalist 2018 data as in classifier-balancing: RandomResizedCrop 224 + flip (no ColorJitter for iNat),
# Resize 256 + CenterCrop 224 for testing, the iNat mean/std (0.466, 0.471, 0.380) / (0.195, 0.194, 0.192).
# The official val list (3 images per class) is the test set; it is also what model selection uses (no other split).
dataset_type = 'INat2018LT'
data_root = 'data/inat2018'  # holds iNaturalist18_{train,val}.txt and the train_val2018/ image folder
data_preprocessor = dict(num_classes=8142, mean=[118.83, 120.105, 96.9], std=[49.725, 49.47, 48.96], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
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
val_evaluator = dict(type='LongTailAccuracy', num_classes=8142, many_thr=100, few_thr=20, topk=(1, 5))
test_evaluator = val_evaluator
