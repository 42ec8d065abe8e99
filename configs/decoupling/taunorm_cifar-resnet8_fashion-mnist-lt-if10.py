# taunorm on Fashion-MNIST-LT at imbalance factor 10 (n_max 1,000: 1000 ... 100 images, 4,084 in all; many > 100 /
# medium 20..100 / few < 20 gives 9 / 1 / 0 classes, so "few" is empty).
# Otherwise as taunorm_cifar-resnet8_fashion-mnist-lt-if100.py.
_base_ = ['./taunorm_cifar-resnet8_fashion-mnist-lt-if100.py']
train_dataloader = dict(dataset=dict(imb_factor=10))
val_dataloader = dict(dataset=dict(imb_factor=10))
