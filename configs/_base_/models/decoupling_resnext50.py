# ResNeXt-50 32x4d from scratch + global pooling + the joint linear classifier with bias (nn.Linear(2048, C)), the
# ImageNet-LT network of Kang et al. (ICLR 2020). The classifier uses PyTorch's default nn.Linear init, as officially
# (init_cfg=None keeps mmpretrain's Normal(0.01) from replacing it).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNeXt', depth=50, num_stages=4, out_indices=(3,), groups=32, width_per_group=4,
                  style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        init_cfg=None,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
