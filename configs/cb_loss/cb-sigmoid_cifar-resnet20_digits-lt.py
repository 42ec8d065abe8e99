# Class-balanced sigmoid cross-entropy (Cui et al., CVPR 2019): every sample's C binary cross-entropy terms weighted by
# the effective-number weight of its class (beta=0.9999, normalised to sum C). mmpretrain's FocalLoss with gamma=0 is
# exactly the sigmoid BCE summed over the classes (alpha=0.5 with loss_weight=2.0 removes its alpha-balancing); its
# CrossEntropyLoss(use_sigmoid=True) expects one-hot targets (a multi-label head), so it is not used here.
#   python tools/train.py configs/cb_loss/cb-sigmoid_cifar-resnet20_digits-lt.py
_base_ = ['../decoupling/joint_cifar-resnet20_digits-lt.py']
model = dict(
    head=dict(loss=dict(_delete_=True, type='ClassBalancedLoss', beta=0.9999,
                        loss=dict(type='FocalLoss', gamma=0.0, alpha=0.5, loss_weight=2.0))),
)
