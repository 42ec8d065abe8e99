# CIFAR ResNet-32 (ltplug's CifarResNet: 16/32/64 channels, option-A shortcuts) + global pooling + the joint linear
# classifier with bias (mmpretrain's LinearClsHead), as used by the decoupling configs on CIFAR-100-LT and (depth 8) digits.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=64,
        init_cfg=None,  # PyTorch's default nn.Linear init, as in the official code
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1,),
    ),
)
