# Decoupling stage 2 (cRT) on ImageNet-LT: 10 epochs, SGD momentum 0.9, lr 0.2, wd 5e-4, batch 512, class-balanced
# sampling, the same offset cosine to 0 as stage 1 (classifier-balancing's cls_crt configs). Only the classifier trains.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=10, eta_min=0.0, by_epoch=True, begin=0, end=10)]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)
