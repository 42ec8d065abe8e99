# ResNet-152 initialised from full-ImageNet pre-training (the OLTR Places-LT protocol) + global pooling + the joint
# linear classifier with bias: the Places-LT network of Kang et al. (ICLR 2020).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet', depth=152, num_stages=4, out_indices=(3,), style='pytorch',
        # mmpretrain's ImageNet-1k ResNet-152 weights (the official code uses torchvision's caffe-converted ones)
        init_cfg=dict(type='Pretrained', prefix='backbone',
                      checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/'
                                 'resnet152_8xb32_in1k_20210901-4d7582fa.pth')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=365,
        in_channels=2048,
        init_cfg=None,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
