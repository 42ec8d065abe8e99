# The common CIFAR-LT schedule (ltplug's choice for the decoupling and vMF CIFAR configs; neither official repository
# ships one): SGD momentum 0.9, lr 0.1, wd 5e-4, batch 128, 200 epochs, per-epoch cosine to 0 with the OLTR one-epoch
# offset (epoch e trains at lr0/2 (1 + cos(pi (e+1)/200)), docs/methods.md §0.4).
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=200, eta_min=0.0, by_epoch=True, begin=0, end=200)]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
