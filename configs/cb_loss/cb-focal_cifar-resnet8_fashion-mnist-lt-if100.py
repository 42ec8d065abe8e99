# Class-balanced focal loss on Fashion-MNIST-LT IF 100 (fast protocol): the joint Fashion-MNIST-LT baseline with the
# loss of cb-focal_cifar-resnet20_digits-lt.py (mmpretrain FocalLoss, gamma 1, no alpha-balancing, beta 0.9999).
#   python tools/train.py configs/cb_loss/cb-focal_cifar-resnet8_fashion-mnist-lt-if100.py
_base_ = ['../decoupling/joint_cifar-resnet8_fashion-mnist-lt-if100.py']
model = dict(head=dict(loss=dict(_delete_=True, type='ClassBalancedLoss', beta=0.9999,
                                 loss=dict(type='FocalLoss', gamma=1.0, alpha=0.5, loss_weight=2.0))))
