# Decoupling stage 2 (LWS) on ImageNet-LT: 5 epochs, SGD momentum 0.9, lr 0.2, wd 5e-4 applied to the learned scales,
# batch 512, class-balanced sampling, offset cosine to 0 (classifier-balancing's LWS configs).
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=5, eta_min=0.0, by_epoch=True, begin=0, end=5)]
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)
