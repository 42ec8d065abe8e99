# BCL's three training views at 224 px (FlamieZhu/BCL, ImageNet-LT and iNaturalist 2018 alike), for BCLMultiView:
#   view 1 (`augmentation_randncls`): crop, flip, ColorJitter(0.4, 0.4, 0.4, 0) with p = 1, RandAugment;
#   views 2 / 3 (`augmentation_sim`, MoCo v2 / SimCLR style): crop, flip, ColorJitter(0.4, 0.4, 0.4, 0.1) with p = 0.8,
#   grey with p = 0.2; `augmentation_randnclsstack` adds RandAugment (cl_views 'sim-sim', 'sim-rand' or 'rand-rand').
# RandAugment is rand-n2-m10-mstd0.5 with timm's original op set, filled with round(255 * ImageNet mean) in BGR order
# (the official code fills with the ImageNet mean on every data set). The colour ops run on PIL RGB images through
# torchvision, as officially (mmcv's hue jitter fails on numpy 2). Use: dataset=dict(pipeline=bcl_train_pipeline).
bcl_randaug = dict(type='TimmRandAugment', num_policies=2, magnitude_level=10, magnitude_std=0.5,
                   pad_val=(104, 116, 124))
bcl_crop_flip = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0), backend='pillow', interpolation='bilinear'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
bcl_sim_pipeline = bcl_crop_flip + [
    dict(type='NumpyToPIL', to_rgb=True),
    dict(type='RandomApply', prob=0.8,
         transforms=[dict(type='torchvision/ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)]),
    dict(type='torchvision/RandomGrayscale', p=0.2),
    dict(type='PILToNumpy', to_bgr=True),
]
bcl_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BCLMultiView',
         cls_pipeline=bcl_crop_flip + [
             dict(type='NumpyToPIL', to_rgb=True),
             dict(type='torchvision/ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.0),
             dict(type='PILToNumpy', to_bgr=True),
             bcl_randaug,
         ],
         sim_pipeline=bcl_sim_pipeline,
         rand_pipeline=bcl_sim_pipeline + [bcl_randaug],
         cl_views='sim-sim'),
    dict(type='PackInputs'),
]
