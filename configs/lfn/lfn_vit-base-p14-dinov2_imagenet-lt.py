# Category extrapolation (Gran_LT, the main DINOv2 runs of docs/methods.md §5.5) on ImageNet-LT: ViT-B/14 initialised
# from DINOv2, GAP of the patch tokens -> BatchNorm1d(affine=False) -> Linear(768, K) over the 1000 targets + the
# auxiliary neighbour classes, neighbour-silencing loss, 100 epochs, 4 GPUs x 128.
# Needs (nothing downloads):
#   data/imagenet/ImageNet_LT_{train,val,test}.txt + images            (docs/methods.md §0.3)
#   data/imagenet_lt_aux/train.txt  ("<relative/path> <label>" lines, images under data/imagenet_lt_aux/images/),
#   data/imagenet_lt_aux/classes.txt (one auxiliary class name per line, line i = label i),
#   data/imagenet_lt_aux/neighbours.json (target -> auxiliary classes; tools/lfn/propose_neighbours.py writes one)
#   checkpoints/dinov2-vitb14_mmpretrain.pth  (DINOv2 ViT-B/14 weights in mmpretrain's VisionTransformer layout)
# and num_aux_classes below = the number of auxiliary classes the neighbour map lists (CategoryExtrapolationHook
# stops with the right value if it is wrong).
_base_ = [
    '../_base_/datasets/imagenet_lt.py',  # splits, lists, evaluator; the pipelines below are this recipe's
    '../_base_/default_runtime.py',
]

num_target_classes = 1000
num_aux_classes = 1000  # <- set to the number of auxiliary classes listed in neighbours.json
num_classes = num_target_classes + num_aux_classes
data_root = 'data/imagenet'
aux_root = 'data/imagenet_lt_aux'

# ImageNet-LT mean / std of the official code (0.4797, 0.4577, 0.4077) / (0.2790, 0.2712, 0.2861), in 0..255
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[122.32, 116.71, 103.97],
    std=[71.14, 69.16, 72.95],
    to_rgb=True,
    # timm Mixup(0.8) / CutMix(1.0), switch prob 0.5, per batch; label smoothing 0.1 is applied in the loss
    batch_augments=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
bgr_mean = data_preprocessor['mean'][::-1]
bgr_std = data_preprocessor['std'][::-1]
# timm create_transform(224, is_training=True, auto_augment='rand-m9-mstd0.5-inc1', interpolation='bicubic',
# re_prob=0.25, re_mode='pixel')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=9,
         magnitude_std=0.5, hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=bgr_mean, fill_std=bgr_std),
    dict(type='PackInputs'),
]
# bicubic resize of the short side to 224 / 0.875 = 256, centre crop 224
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128,  # per GPU, 4 GPUs
    num_workers=16,
    persistent_workers=False,  # the workers must see the per-epoch auxiliary re-subsampling
    dataset=dict(
        _delete_=True,
        type='CategoryExtrapolationDataset',
        target=dict(type='ImageNetLT', data_root=data_root, split='train'),
        auxiliary=dict(type='CustomDataset', data_root=aux_root, ann_file='train.txt', data_prefix='images',
                       classes=f'{aux_root}/classes.txt', with_label=True),
        neighbour_map=f'{aux_root}/neighbours.json',
        aux_classes='listed',
        reference_counts='target',
        quota=dict(high=100, low=20, cap=50),
        seed=0,
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_evaluator = dict(num_classes=num_target_classes)  # the target classes only (the head drops the auxiliary rows)
test_evaluator = val_evaluator

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='base',
        img_size=224,
        patch_size=14,
        layer_scale_init_value=1e-5,
        drop_path_rate=0.1,
        out_type='featmap',  # patch tokens (N, 768, 16, 16); the official global-pool head drops the last LayerNorm
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/dinov2-vitb14_mmpretrain.pth', prefix='backbone'),
    ),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='ExtrapolationClsHead',
        num_classes=num_classes,
        num_target_classes=num_target_classes,
        in_channels=768,
        pre_norm='bn',  # fc_norm = BatchNorm1d(768, affine=False, eps=1e-6)
        init_std=2e-5,  # trunc_normal_(head.weight, std=2e-5)
        loss=dict(type='NeighbourSilencingLoss', mask_type='no_fm_remove_normal_neg', tau=1.0, label_smoothing=0.1),
        topk=(1, 5),
    ),
)

# AdamW (0.9, 0.99), wd 0.05 (none on 1-D parameters, pos_embed, cls_token), layer-wise lr decay 0.75,
# lr = blr * total_batch / 256 = 8.75e-6 * 512 / 256
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=8.75e-6 * 512 / 256, betas=(0.9, 0.99), weight_decay=0.05),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75, flat_decay_mult=0.0,
                       custom_keys={'.pos_embed': dict(decay_mult=0.0), '.cls_token': dict(decay_mult=0.0)}),
)
# per-iteration linear warm-up for 10 epochs, then half-cosine to 0 (MAE's lr_sched)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=10, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=90, eta_min=0.0, by_epoch=True, begin=10, end=100,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)

custom_hooks = [
    dict(type='CategoryExtrapolationHook'),  # instead of ClassCountsHook: K-class counts for the loss, targets for metrics
    # official clswarm: only the head trains for 3 epochs (the DINOv2 backbone comes from init_cfg, not load_from)
    dict(type='FreezeModulesHook', modules=['backbone', 'neck'], epochs=3),
]
# the warm-up leaves the backbone without gradients for 3 epochs
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
