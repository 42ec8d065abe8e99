# vMF classifier (vMF-OP, no auxiliary loss: the official vmf.yaml recipe) on the bundled long-tailed digits:
# CifarResNet-20 (64-d) + global pooling + VMFClsHead, instance-balanced sampling, softmax CE on the balanced vMF
# posterior, SGD with the official one-epoch-offset cosine, kappa without weight decay. CPU: about a minute.
#   python tools/train.py configs/vmf/vmf_cifar-resnet20_digits-lt.py
# Calibration (alpha sweep on val, new checkpoint): tools/vmf/calibrate.py; the whole job: tools/demo.sh.
_base_ = [
    '../_base_/datasets/digits_lt.py',
    '../_base_/models/vmf_cifar_resnet32.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=20), head=dict(num_classes=10, in_channels=64))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'head.vmf.kappa': dict(decay_mult=0.0)}),  # no weight decay on kappa
)
# epoch e trains at lr0/2 (1 + cos(pi (e + 1) / T)), the last epoch at 0 (METHODS.md section 0.4)
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=30, eta_min=0.0, by_epoch=True, begin=0, end=30)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
val_cfg = dict()
test_cfg = dict()

# ClassCountsHook hands n_c to the head (log prior) and the metric (shot splits). VMFCalibrationHook with alpha < 1
# evaluates val / test with calibrated kappa and restores the trained state afterwards; 1.0 = off.
custom_hooks = [dict(type='ClassCountsHook'), dict(type='VMFCalibrationHook', alpha=1.0)]
