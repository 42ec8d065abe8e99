# BCL (Zhu et al., CVPR 2022) on ImageNet-LT: ResNeXt-50 32x4d from scratch, 90 epochs, the released recipe
# (FlamieZhu/BCL main.py defaults, METHODS.md section 3): batch 256 in total (4 GPUs x 64), SGD lr 0.1 / momentum 0.9 /
# wd 5e-4, BCL's per-epoch cosine without warm-up, instance-balanced sampling; loss 1.0 * logit-adjusted CE (view 1)
# + 0.35 * BCL (views 2 and 3, tau 0.07, 1024-d); best checkpoint on val, report test.
#   bash tools/dist_train.sh configs/bcl/bcl_resnext50_imagenet-lt.py 4
#   bash tools/dist_test.sh configs/bcl/bcl_resnext50_imagenet-lt.py work_dirs/bcl_resnext50_imagenet-lt/best_*.pth 4
# Contrastive views: sim-sim (default); sim-rand / rand-rand (the README's 57.8 % checkpoint) with
#   --cfg-options train_dataloader.dataset.pipeline.1.cl_views=rand-rand
_base_ = [
    '../_base_/models/bcl_resnext50.py',
    '../_base_/datasets/imagenet_lt.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=1000))

# RandAugment rand-n2-m10-mstd0.5 with timm's original op set; fill = round(255 * ImageNet mean), BGR order (the
# official code fills with the ImageNet mean on every data set)
randaug = dict(type='TimmRandAugment', num_policies=2, magnitude_level=10, magnitude_std=0.5, pad_val=(104, 116, 124))
crop = dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0), backend='pillow', interpolation='bilinear')
flip = dict(type='RandomFlip', prob=0.5, direction='horizontal')
# the colour ops run on PIL RGB images through torchvision, as officially (mmcv's hue jitter fails on numpy 2)
cls_pipeline = [  # view 1, official `augmentation_randncls`
    crop, flip,
    dict(type='NumpyToPIL', to_rgb=True),
    dict(type='torchvision/ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.0),  # p = 1
    dict(type='PILToNumpy', to_bgr=True),
    randaug,
]
sim_pipeline = [  # official `augmentation_sim` (MoCo v2 / SimCLR style)
    crop, flip,
    dict(type='NumpyToPIL', to_rgb=True),
    dict(type='RandomApply', prob=0.8,
         transforms=[dict(type='torchvision/ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)]),
    dict(type='torchvision/RandomGrayscale', p=0.2),
    dict(type='PILToNumpy', to_bgr=True),
]
rand_pipeline = sim_pipeline + [randaug]  # official `augmentation_randnclsstack`
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BCLMultiView', cls_pipeline=cls_pipeline, sim_pipeline=sim_pipeline, rand_pipeline=rand_pipeline,
         cl_views='sim-sim'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))  # x 4 GPUs = 256

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
# BCL adjust_lr: epoch e trains at lr0 / 2 (1 + cos(pi (e + 1) / (E + 1))), never lr0 itself (METHODS.md 0.4)
param_scheduler = [dict(type='BCLCosineLR', num_epochs=90, warmup_epochs=0, by_epoch=True, begin=0, end=90)]
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=1)  # officially validated every epoch, best on val
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
