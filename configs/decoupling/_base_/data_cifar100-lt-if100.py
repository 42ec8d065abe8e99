# CIFAR-100-LT (imbalance factor 100, METHODS.md section 0.2 profile: 500 ... 5 images, 10,847 in total) with the
# usual CIFAR-LT augmentation (pad-4 random crop + flip). CIFAR-LT has no val split: val = the balanced test set, so a
# tau picked by tools/decoupling/tau_sweep.py on "val" is picked on test (the common CIFAR-LT practice; see README).
dataset_type = 'CIFAR100LT'
data_root = 'data/cifar100'  # holds cifar-100-python/
data_preprocessor = dict(num_classes=100, mean=[129.304, 124.070, 112.434], std=[68.170, 65.392, 70.418], to_rgb=False)
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', imb_factor=100, pipeline=train_pipeline),
    sampler=dict(type='InstanceBalancedSampler'),
    drop_last=True,
)
val_dataloader = dict(
    batch_size=256,
    num_workers=4,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='LongTailAccuracy', num_classes=100, many_thr=100, few_thr=20)
test_evaluator = val_evaluator
