# vMF-OP ImageNet-LT schedule (official vmf.yaml / vmf_icd.yaml): SGD momentum 0.9, 45 epochs, cosine to 0 stepped at
# the start of each epoch (epoch e trains at lr0/2 (1 + cos(pi (e+1)/45)), docs/methods.md §0.4).
# Backbone lr 0.2, wd 5e-4; classifier lr 0.1 (lr_mult 0.5), its weight wd 5e-4 and kappa wd 0 (`kappa_decay`).
# mmengine applies only the longest matching custom key, so the kappa key repeats the classifier's lr_mult.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={
        'head': dict(lr_mult=0.5),
        'head.vmf.kappa': dict(lr_mult=0.5, decay_mult=0.0),
    }),
)
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=45, eta_min=0.0, by_epoch=True, begin=0, end=45)]
train_cfg = dict(by_epoch=True, max_epochs=45, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# official: batch 256 images (512 crops) on 4 GPUs; scale the lr linearly for other totals with --auto-scale-lr
auto_scale_lr = dict(base_batch_size=256)
