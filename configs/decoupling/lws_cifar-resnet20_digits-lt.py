# Decoupling, stage 2: learnable weight scaling (LWS) on the digits stage-1 model. Backbone + neck and the stage-1
# classifier (W, b) are frozen; only the per-class scales f (init 1) of f * (W x + b) are trained, with class-balanced
# sampling, cross-entropy and weight decay on f (no paramwise_cfg: f decays like any parameter, as officially).
#   python tools/train.py configs/decoupling/lws_cifar-resnet20_digits-lt.py
_base_ = [
    '../_base_/models/decoupling_cifar_resnet32.py',
    '../_base_/datasets/digits_lt.py',
    '../_base_/schedules/decoupling_stage2_5e.py',
    '../_base_/decoupling_stage2_runtime.py',
]
load_from = 'work_dirs/joint_cifar-resnet20_digits-lt/epoch_30.pth'
model = dict(backbone=dict(depth=20), head=dict(type='LWSClsHead', num_classes=10))
train_dataloader = dict(sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
optim_wrapper = dict(optimizer=dict(lr=0.1))
train_cfg = dict(val_interval=5)
auto_scale_lr = dict(base_batch_size=32)
