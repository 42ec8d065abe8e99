# vMF classifier on CIFAR-100-LT (imbalance factor 100): CifarResNet-32 (64-d) + VMFClsHead. The official repository
# ships no CIFAR config; this is ltplug's recipe (see configs/vmf/README.md): batch 128, 200 epochs, SGD 0.1, wd 5e-4
# (kappa 0), offset cosine; augmentation as the official ImbalanceCIFAR dataset class (pad-4 crop with fill 128, flip;
# its CIFAR10 AutoAugment policy and Cutout 16 are not reproduced here).
#   python tools/train.py configs/vmf/vmf_cifar-resnet32_cifar100-lt-if100.py
_base_ = [
    '../_base_/models/vmf_cifar_resnet32.py',
    '../_base_/datasets/cifar100_lt.py',
    '../_base_/schedules/vmf_cifar_lt_sgd_200e.py',
    '../_base_/default_runtime.py',
]
# the official ImbalanceCIFAR crop pads with 128 (the base pads with 0)
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4, pad_val=128),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
