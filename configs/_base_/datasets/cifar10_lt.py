# CIFAR-10-LT (docs/methods.md §0.2): train n_i = int(5000 * (1/IF)^(i/9)) chosen as the official
# gen_imbalanced_data does (numpy seed 0), IF 100 -> 12,406 images; test the balanced 10,000. Expects the standard python
# pickles under data/cifar10/cifar-10-batches-py (docs/datasets.md); nothing downloads.
# Everything else (pipelines, loaders, shot thresholds) is the CIFAR-100-LT base.
_base_ = ['./cifar100_lt.py']
dataset_type = 'CIFAR10LT'
data_root = 'data/cifar10'
data_preprocessor = dict(
    num_classes=10,
    # CIFAR-10 pixel mean / std (RGB, the pickles are RGB)
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
)
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
# IF 100 -> 8 / 2 / 0 many / medium / few classes
val_evaluator = dict(num_classes=10)
test_evaluator = dict(num_classes=10)
