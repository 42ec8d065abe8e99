# Class-balanced softmax cross-entropy (Cui et al., CVPR 2019): mmpretrain's CrossEntropyLoss with every sample
# weighted by the effective-number weight of its class (beta=0.9999, normalised to sum C).
#   python tools/train.py configs/cb_loss/cb-softmax_cifar-resnet20_digits-lt.py
_base_ = ['../decoupling/joint_cifar-resnet20_digits-lt.py']
model = dict(
    head=dict(loss=dict(_delete_=True, type='ClassBalancedLoss', beta=0.9999, loss=dict(type='CrossEntropyLoss'))),
)
