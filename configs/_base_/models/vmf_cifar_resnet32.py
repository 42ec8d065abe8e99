# vMF-OP classifier on the CIFAR ResNet-32 (ltplug's CifarResNet, 64-d pooled feature, final ReLU kept) + global
# pooling.
# VMFClsHead: per-class kappa (init 16), balanced training logits kappa cos + b + log n_c, plain softmax CE, test logits
# kappa' cos + b. Class counts come from ClassCountsHook (in default_runtime's custom_hooks).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='VMFClsHead',
        num_classes=100,
        in_channels=64,
        kappa_init=16.0,
        use_prior=True,
        aux_loss='none',  # 'icd' for the vmf_icd recipe; 'cfc' / 'icd+cfc' are available (no official config)
        aux_loss_weight=0.2,
        aux_loss_power=0.9,
        op_fallback='bias',  # official vmf.yaml behaviour when ICD is off (see configs/vmf/README.md)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1,),
    ),
)
