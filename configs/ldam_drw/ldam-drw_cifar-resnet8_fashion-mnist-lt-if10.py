# As ldam-drw_cifar-resnet8_fashion-mnist-lt-if100.py at imbalance factor 10 (n_max 1,000: 1000 ... 100 images; the
# few split is empty and is left out of the metrics, never reported as 0).
_base_ = ['./ldam-drw_cifar-resnet8_fashion-mnist-lt-if100.py']
train_dataloader = dict(dataset=dict(imb_factor=10))
val_dataloader = dict(dataset=dict(imb_factor=10))
