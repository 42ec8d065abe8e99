# Fashion-MNIST-LT at imbalance factor 10 (n_max 1,000 -> 1000, 774, 599, 464, 359, 278, 215, 166, 129, 100; 4,084
# images); everything else as fashion_mnist_lt.py (IF 100).
_base_ = ['./fashion_mnist_lt.py']
train_dataloader = dict(dataset=dict(imb_factor=10))
val_dataloader = dict(dataset=dict(imb_factor=10))
