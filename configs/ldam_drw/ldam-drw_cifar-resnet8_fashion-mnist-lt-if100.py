# LDAM-DRW on Fashion-MNIST-LT IF 100 (fast protocol, configs/_base_/datasets/fashion_mnist_lt.py): the joint
# Fashion-MNIST-LT baseline's network and 12-epoch schedule with the LDAM-DRW head of
# ldam-drw_cifar-resnet20_digits-lt.py; DRW from epoch index 10 (0.8 of the run, as 160 / 200 officially, rounded up).
#   python tools/train.py configs/ldam_drw/ldam-drw_cifar-resnet8_fashion-mnist-lt-if100.py
_base_ = ['../decoupling/joint_cifar-resnet8_fashion-mnist-lt-if100.py']
model = dict(
    head=dict(_delete_=True, type='CosineClsHead', num_classes=10, in_channels=64, scale=30.0,
              loss=dict(type='LDAMLoss', max_m=0.5, scale=30.0, input_scaled=True)))
custom_hooks = [dict(type='ClassCountsHook'), dict(type='DeferredReweightingHook', start_epoch=10, beta=0.9999)]
