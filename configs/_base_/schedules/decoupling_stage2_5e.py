# Decoupling stage 2 (LWS) on ImageNet-LT: decoupling_stage2_10e.py for 5 epochs (classifier-balancing's LWS configs;
# the weight decay applies to the learned scales).
_base_ = ['./decoupling_stage2_10e.py']
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=5, eta_min=0.0, by_epoch=True, begin=0, end=5)]
train_cfg = dict(max_epochs=5)
