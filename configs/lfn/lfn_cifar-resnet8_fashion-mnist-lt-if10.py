# Category extrapolation on Fashion-MNIST-LT at imbalance factor 10 (n_max 1,000: 1000 ... 100 images); otherwise
# lfn_cifar-resnet8_fashion-mnist-lt-if100.py (the target split and the held-out pool follow the same imb_factor).
_base_ = ['./lfn_cifar-resnet8_fashion-mnist-lt-if100.py']
train_dataloader = dict(dataset=dict(target=dict(imb_factor=10), auxiliary=dict(subset=dict(imb_factor=10))))
val_dataloader = dict(dataset=dict(imb_factor=10))
