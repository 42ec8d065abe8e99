# CIFAR-100-LT (docs/methods.md §0.2): train n_i = int(500 * (1/IF)^(i/99)) chosen as the official
# gen_imbalanced_data does (numpy seed 0), IF 100 -> 10,847 images; test the balanced 10,000. Expects the standard python
# pickles under data/cifar100/cifar-100-python (docs/datasets.md); nothing downloads.
# Pipeline: the standard CIFAR-LT augmentation (pad-4 random crop, horizontal flip). Method configs add their extras
# (AutoAugment / Cutout for BCL and vMF-OP, whose official crop pads with 128 instead of 0).
# Every method config takes its data from here and overrides only what its recipe changes (per-GPU batch size,
# sampler, multi-view training pipelines); cifar10_lt.py overrides only the data set.
dataset_type = 'CIFAR100LT'
data_root = 'data/cifar100'
data_preprocessor = dict(
    num_classes=100,
    # CIFAR-100 pixel mean / std (RGB, the pickles are RGB)
    mean=[129.304, 124.070, 112.434],
    std=[68.170, 65.392, 70.418],
    to_rgb=False,
)
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    # kept alive across epochs: workers re-created each epoch would be re-seeded identically by mmengine and replay
    # the same augmentation random numbers every epoch (the official loaders draw fresh ones)
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', imb_factor=100, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),  # instance-balanced: a plain shuffle, as officially
    drop_last=True,  # an epoch is int(N / batch) iterations, the official convention
)
val_dataloader = dict(
    batch_size=200,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = val_dataloader
# the papers' splits: many > 100, medium 20..100 (inclusive), few < 20 training images (IF 100 -> 35 / 35 / 30 classes)
val_evaluator = dict(type='LongTailAccuracy', num_classes=100, many_thr=100, few_thr=20)
test_evaluator = val_evaluator
