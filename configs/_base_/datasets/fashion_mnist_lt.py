# Fashion-MNIST-LT, the fast protocol of the results table (README "Fashion-MNIST-LT"): real 28x28 grey-scale product
# photos from the Debian package dataset-fashion-mnist (IDX .gz files under /usr/share/datasets/fashion-mnist; nothing
# downloads). LongTailSubset keeps n_i = int(n_max * (1/IF)^(i/9)) train images of class i (class 0 the head) from the
# 60,000 train images, the official CIFAR-LT way (numpy seed `seed`, 0): n_max 1,000, IF 100 -> 1000, 599, 359, 215,
# 129, 77, 46, 27, 16, 10 (2,478 images). val: 100 images per class carved out of the train images BEFORE the subsample
# (split_seed 0), so no train seed can reach them; every knob (calibration alpha, tau, best epoch) is chosen on val.
# test: the balanced 10,000 test images. The CIFAR-10-LT-sized slower setting: n_max=5000 (train_dataloader.dataset).
fmnist_root = '/usr/share/datasets/fashion-mnist'
data_preprocessor = dict(
    num_classes=10,
    # pixel mean / std of the 60,000 train images, replicated to 3 channels (tests/cls/test_fashion_mnist.py)
    mean=[72.94, 72.94, 72.94],
    std=[90.02, 90.02, 90.02],
    to_rgb=False,
)
train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

lt_split = dict(type='LongTailSubset', imb_factor=100, n_max=1000, seed=0, num_val=100, split_seed=0)
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(lt_split, split='train',
                 dataset=dict(type='FashionMNISTGz', data_root=fmnist_root, split='train', pipeline=train_pipeline)),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,  # an epoch is int(N / batch) iterations, the official convention
)
val_dataloader = dict(
    batch_size=500,
    num_workers=0,
    dataset=dict(lt_split, split='val',
                 dataset=dict(type='FashionMNISTGz', data_root=fmnist_root, split='train', pipeline=test_pipeline)),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = dict(
    batch_size=500,
    num_workers=0,
    dataset=dict(type='FashionMNISTGz', data_root=fmnist_root, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# The CIFAR-10-LT shot convention of this repository (configs/_base_/datasets/cifar10_lt.py): many > 100, medium
# 20..100, few < 20 training images, in images, not rescaled. IF 100 here: 5 / 3 / 2 classes; IF 10: 9 / 1 / 0
# (no few class: the tables show '–').
val_evaluator = dict(type='LongTailAccuracy', num_classes=10, many_thr=100, few_thr=20)
test_evaluator = val_evaluator
