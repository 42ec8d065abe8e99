# CIFAR-LT schedule for the vMF classifier (ltplug's choice: the official repo ships no CIFAR config). The common
# CIFAR-LT recipe: SGD momentum 0.9, lr 0.1, wd 5e-4 (kappa wd 0), 200 epochs, batch 128, per-epoch cosine to 0 with the
# OLTR one-epoch offset used by the official ImageNet-LT runs.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'head.vmf.kappa': dict(decay_mult=0.0)}),
)
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=200, eta_min=0.0, by_epoch=True, begin=0, end=200)]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
