# The schedule of every CPU demo on the long-tailed digits: SGD momentum 0.9, lr 0.1, wd 5e-4, 30 epochs, validation
# every 5, per-epoch cosine to 0 with the OLTR one-epoch offset (epoch e trains at lr0/2 (1 + cos(pi (e+1)/30)), the
# last epoch at 0; docs/methods.md §0.4). Method configs swap the scheduler where their recipe has another one.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=30, eta_min=0.0, by_epoch=True, begin=0, end=30)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
val_cfg = dict()
test_cfg = dict()
