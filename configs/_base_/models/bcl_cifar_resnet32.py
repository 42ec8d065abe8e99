# BCL two-branch model for CIFAR-LT: CIFAR ResNet-32 (ltplug CifarResNet, 64-d pooled feature) + cosine classifier (s = 30)
# trained with logit-adjusted CE, + projection / prototype MLPs 64 -> 512 -> 128 and the BCL loss.
# The CIFAR recipe was NOT released (docs/methods.md §3.1, 3.6): MLP widths, tau = 0.1 and the loss weights
# alpha = 2.0 / beta = 0.6 and the MLP sizes are our choices for this recipe: not verified against the paper (docs/methods.md §3.6).
model = dict(
    type='BCLClassifier',
    backbone=dict(type='CifarResNet', depth=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='CosineClsHead',
        num_classes=100,
        in_channels=64,
        scale=30.0,
        loss=dict(type='LogitAdjustedLoss', tau=1.0, loss_weight=2.0),  # loss_weight = alpha [our choice, unverified]
        topk=(1,),
    ),
    feat_dim=128,  # [our choice, unverified]
    hidden_dim=512,  # [our choice, unverified]
    contrast_loss=dict(type='BCLLoss', temperature=0.1, loss_weight=0.6),  # tau, beta [our choice, unverified]
)
