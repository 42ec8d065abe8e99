# vMF-OP ImageNet-LT network: ResNeXt-50 32x4d from scratch (2048-d, final ReLU kept) + global pooling + VMFClsHead.
# Training feeds two augmented views per image (MultiView in the pipeline); the config's top-level
# data_preprocessor (type='MultiCropClsDataPreprocessor', num_views=2, merged with the dataset base's mean / std) puts
# the 2B crops into one batch and repeats the labels, as the official `img_num: 2` loader + reshape do.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNeXt', depth=50, num_stages=4, out_indices=(3,), groups=32, width_per_group=4,
                  style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='VMFClsHead',
        num_classes=1000,
        in_channels=2048,
        kappa_init=16.0,
        use_prior=True,
        aux_loss='none',
        aux_loss_weight=0.2,
        aux_loss_power=0.9,
        op_fallback='bias',
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
