# vMF classifier (vMF-OP, no auxiliary loss: the official vmf.yaml recipe) on the bundled long-tailed digits:
# CifarResNet-20 (64-d) + global pooling + VMFClsHead, instance-balanced sampling, softmax CE on the balanced vMF
# posterior, SGD with the official one-epoch-offset cosine, kappa without weight decay. CPU: about a minute.
#   python tools/train.py configs/vmf/vmf_cifar-resnet20_digits-lt.py
# Calibration (alpha sweep on val, new checkpoint): tools/vmf/calibrate.py; the whole job: tools/demo.sh.
_base_ = [
    '../_base_/models/vmf_cifar_resnet32.py',
    '../_base_/datasets/digits_lt.py',
    '../_base_/schedules/digits_lt_sgd_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=20), head=dict(num_classes=10))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'head.vmf.kappa': dict(decay_mult=0.0)}))  # no weight decay on kappa
