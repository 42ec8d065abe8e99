# Post-hoc logit adjustment (tau = 1.0) of the joint Fashion-MNIST-LT IF 100 baseline at val / test; choose tau on the
# val split (carved out of the train images) with tools/logit_adjust/posthoc_la.py. See README.md here.
#   python tools/train.py configs/logit_adjust/posthoc-la_cifar-resnet8_fashion-mnist-lt-if100.py
_base_ = ['../decoupling/joint_cifar-resnet8_fashion-mnist-lt-if100.py']
custom_hooks = [dict(type='ClassCountsHook'), dict(type='PosthocLogitAdjustHook', tau=1.0)]
