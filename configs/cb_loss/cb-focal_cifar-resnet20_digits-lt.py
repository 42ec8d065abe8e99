# Class-balanced focal loss (Cui et al., CVPR 2019) on the long-tailed digits: mmpretrain's sigmoid FocalLoss, every
# sample weighted by the effective-number weight of its class (beta=0.9999, weights normalised to sum C).
# alpha=0.5 with loss_weight=2.0 removes mmpretrain's alpha-balancing (alpha_t = 0.5 for positives and negatives),
# leaving the official CB focal term w_y * (1 - p_t)^gamma * BCE; gamma=1.0 is the official --gamma default.
#   python tools/train.py configs/cb_loss/cb-focal_cifar-resnet20_digits-lt.py
_base_ = ['../decoupling/joint_cifar-resnet20_digits-lt.py']
model = dict(
    head=dict(
        loss=dict(_delete_=True, type='ClassBalancedLoss', beta=0.9999,
                  loss=dict(type='FocalLoss', gamma=1.0, alpha=0.5, loss_weight=2.0)),
    ),
)
