# Decoupling, stage 2: classifier re-training (cRT) on the digits stage-1 model. The backbone + neck are loaded from
# stage 1 and frozen; the linear classifier is re-initialised (PyTorch default init) after loading and trained with
# class-balanced sampling (4 images per class, official ClassAwareSampler) and cross-entropy, lr 0.1, 10 epochs.
#   python tools/train.py configs/decoupling/crt_cifar-resnet20_digits-lt.py
_base_ = [
    '../_base_/models/decoupling_cifar_resnet32.py',
    '../_base_/datasets/digits_lt.py',
    '../_base_/schedules/decoupling_stage2_10e.py',
    '../_base_/decoupling_crt_runtime.py',
]
load_from = 'work_dirs/joint_cifar-resnet20_digits-lt/epoch_30.pth'
model = dict(backbone=dict(depth=20), head=dict(num_classes=10))
train_dataloader = dict(sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
optim_wrapper = dict(optimizer=dict(lr=0.1))
train_cfg = dict(val_interval=5)
auto_scale_lr = dict(base_batch_size=32)
