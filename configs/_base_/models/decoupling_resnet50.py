# ResNet-50 from scratch + global pooling + the joint linear classifier with bias: the iNaturalist 2018 network of
# Kang et al. (ICLR 2020). PyTorch's default nn.Linear init for the classifier, as officially.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(3,), style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=8142,
        in_channels=2048,
        init_cfg=None,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
