# The CIFAR-LT schedule for the vMF classifier: cifar_lt_sgd_200e.py with no weight decay on kappa (the official
# `kappa_decay`).
_base_ = ['./cifar_lt_sgd_200e.py']
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'head.vmf.kappa': dict(decay_mult=0.0)}))
