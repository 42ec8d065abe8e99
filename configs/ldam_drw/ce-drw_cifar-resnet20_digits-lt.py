# Cross-entropy with deferred re-weighting (the "CE + DRW" baseline of Cao et al.): the joint digits baseline, whose
# mmpretrain CrossEntropyLoss gets effective-number class weights (beta=0.9999) from epoch index 24 of 30.
#   python tools/train.py configs/ldam_drw/ce-drw_cifar-resnet20_digits-lt.py
_base_ = ['../decoupling/joint_cifar-resnet20_digits-lt.py']
custom_hooks = [
    dict(type='ClassCountsHook'),
    dict(type='DeferredReweightingHook', start_epoch=24, beta=0.9999),
]
