# vMF-OP on ImageNet-LT, official vmf.yaml: ResNeXt-50 32x4d from scratch + VMFClsHead (kappa init 16, log-prior
# training logits), two augmented views per image, 45 epochs, SGD 0.9, backbone lr 0.2 / wd 5e-4, classifier lr 0.1 with
# kappa wd 0, offset cosine to 0, seed 510, best checkpoint on val, report on test.
# Official setting: 4 GPUs x 64 images (x 2 views) = 256 images / 512 crops per step:
#   bash tools/dist_train.sh configs/vmf/vmf_resnext50_imagenet-lt.py 4
# Then sweep the calibration on val: python tools/vmf/calibrate.py CONFIG CKPT --out CKPT_calibrated.pth
_base_ = [
    '../_base_/models/vmf_resnext50.py',
    '../_base_/datasets/imagenet_lt.py',
    '../_base_/schedules/vmf_imagenet_lt_sgd_45e.py',
    '../_base_/default_runtime.py',
]
# two augmented views per image (official `img_num: 2`), each with the base's training transforms
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[[
        dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bilinear'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.0),
    ]]),
    dict(type='PackInputs'),
]
# per GPU: 4 x 64 = 256 images = 512 crops per step; instance-balanced (the base's plain shuffle)
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
# the 2B crops of a batch become one batch with repeated labels (the official reshape); mean / std from the base
data_preprocessor = dict(type='MultiCropClsDataPreprocessor', num_views=2)
randomness = dict(seed=510, deterministic=False)
