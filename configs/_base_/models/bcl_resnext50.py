# BCL two-branch model (official BCLModel, resnext50): ResNeXt-50 32x4d from scratch + global pooling -> 2048-d feature;
# cosine classifier NormedLinear(2048, C), s = 30, trained with logit-adjusted CE (tau 1); projection MLP and prototype
# MLP 2048 -> 2048 -> BN -> ReLU -> 1024; BCL loss tau = 0.07. Total loss = 1.0 * L_LC + 0.35 * L_BCL (main.py defaults).
# zero_init_residual=False and mmpretrain's Kaiming(fan_out) conv init match the torchvision-style network of the repo.
model = dict(
    type='BCLClassifier',
    backbone=dict(type='ResNeXt', depth=50, num_stages=4, out_indices=(3,), groups=32, width_per_group=4,
                  style='pytorch', zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='CosineClsHead',
        num_classes=1000,
        in_channels=2048,
        scale=30.0,
        loss=dict(type='LogitAdjustedLoss', tau=1.0, loss_weight=1.0),  # loss_weight = alpha
        topk=(1, 5),
    ),
    feat_dim=1024,
    hidden_dim=2048,
    contrast_loss=dict(type='BCLLoss', temperature=0.07, loss_weight=0.35),  # loss_weight = beta
)
