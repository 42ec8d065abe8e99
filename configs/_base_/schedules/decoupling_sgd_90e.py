# Decoupling stage 1 (joint training) on ImageNet-LT / iNaturalist 2018, classifier-balancing's stage_1 configs:
# SGD momentum 0.9, lr 0.2 for backbone and classifier, wd 5e-4 (iNat: 1e-4), batch 512, 90 epochs, cosine to 0 stepped
# at the start of each epoch: epoch e trains at 0.2/2 (1 + cos(pi (e+1)/90)), the last one at 0 (docs/methods.md §0.4).
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=90, eta_min=0.0, by_epoch=True, begin=0, end=90)]
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# official total batch 512; scale the lr linearly for another total with --auto-scale-lr
auto_scale_lr = dict(base_batch_size=512)
