# vMF classifier on CIFAR-100-LT (imbalance factor 100): CifarResNet-32 (64-d) + VMFClsHead. The official repository
# ships no CIFAR config; this is ltplug's recipe (see configs/vmf/README.md): batch 128, 200 epochs, SGD 0.1, wd 5e-4
# (kappa 0), offset cosine; augmentation as the official ImbalanceCIFAR dataset class (pad-4 crop with fill 128, flip;
# its CIFAR10 AutoAugment policy and Cutout 16 are not reproduced here).
#   python tools/train.py configs/vmf/vmf_cifar-resnet32_cifar100-lt-if100.py
_base_ = [
    '../_base_/models/vmf_cifar_resnet32.py',
    '../_base_/schedules/vmf_cifar_lt_sgd_200e.py',
    '../_base_/default_runtime.py',
]
# TODO(datasets): the CIFAR-LT data set class is written by the datasets owner; 'CIFAR100LT' (METHODS.md section 0.2
# profile, seed 0) is the expected name. Change dataset_type / its arguments here if it lands under another name.
dataset_type = 'CIFAR100LT'
data_root = 'data/cifar100'
data_preprocessor = dict(
    num_classes=100,
    mean=[129.304, 124.070, 112.434],  # CIFAR-100 statistics (official ImbalanceCIFAR normalisation), RGB
    std=[68.170, 65.392, 70.418],
    to_rgb=False,
)
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4, pad_val=128),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', imb_factor=100, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
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
model = dict(head=dict(num_classes=100, in_channels=64))
custom_hooks = [dict(type='ClassCountsHook'), dict(type='VMFCalibrationHook', alpha=1.0)]
