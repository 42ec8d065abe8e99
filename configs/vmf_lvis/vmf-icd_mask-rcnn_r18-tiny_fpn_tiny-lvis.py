# CPU demo / test config: the LVIS vMF config on the generated tiny LVIS-v1-format data set
#   python tools/misc/make_tiny_lvis.py data/tiny_lvis
#   tools/with_env.sh python tools/train.py configs/vmf_lvis/vmf-icd_mask-rcnn_r18-tiny_fpn_tiny-lvis.py
# ResNet-18 with 8..64 channels, 32-channel FPN, 128x128 images, 12 categories, 8 epochs (a minute or two on 2 cores).
_base_ = './vmf-icd_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'

data_root = 'data/tiny_lvis/'
# the category names written by tools/misc/make_tiny_lvis.py (label i = i-th category of the json)
classes = ('class_00', 'class_01', 'class_02', 'class_03', 'class_04', 'class_05', 'class_06', 'class_07', 'class_08',
           'class_09', 'class_10', 'class_11')
num_classes = 12
max_epochs = 8
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    backbone=dict(depth=18, base_channels=8, frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=64, num_classes=num_classes),
        mask_roi_extractor=dict(out_channels=32),
        mask_head=dict(num_convs=2, in_channels=32, conv_out_channels=16, num_classes=num_classes)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=300, max_per_img=150),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=300, max_per_img=150),
        rcnn=dict(max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        # repeat-factor sampling as in the full config; the threshold is raised so that the tiny set's rare
        # categories (in < 10% of the images) are actually repeated
        oversample_thr=0.1,
        dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/lvis_v1_val.json')
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[6], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=0.02))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))

# a fixed seed: the CPU demo / test runs are reproducible (mmengine picks a random one otherwise)
randomness = dict(seed=0)
