# LDAM-DRW (Cao et al., NeurIPS 2019) on the bundled long-tailed digits: CifarResNet-20 + cosine classifier
# (NormedLinear init), LDAM loss (max_m=0.5, s=30, the official values) and deferred re-weighting with
# effective-number weights (beta=0.9999) from epoch index 24 of 30 (the official 160 of 200 is 0.8 of the schedule;
# the schedule itself is the joint digits baseline's, so the rows of the results table compare like with like).
#   python tools/train.py configs/ldam_drw/ldam-drw_cifar-resnet20_digits-lt.py
_base_ = ['../decoupling/joint_cifar-resnet20_digits-lt.py']
model = dict(
    head=dict(
        _delete_=True,
        type='CosineClsHead',
        num_classes=10,
        in_channels=64,
        scale=30.0,  # the head outputs s * cos, so that its softmax gives meaningful probabilities (ECE) at test
        loss=dict(type='LDAMLoss', max_m=0.5, scale=30.0, input_scaled=True),
    ),
)
custom_hooks = [
    dict(type='ClassCountsHook'),
    dict(type='DeferredReweightingHook', start_epoch=24, beta=0.9999),
]
