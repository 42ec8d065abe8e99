# Decoupling stage 2, LWS on CIFAR-100-LT (IF 100): stage-1 backbone and classifier frozen, per-class scales trained
# 5 epochs with class-balanced sampling, CE, SGD 0.1, wd 5e-4 on the scales (ltplug's recipe, see README).
#   python tools/train.py configs/decoupling/lws_cifar-resnet32_cifar100-lt-if100.py
_base_ = [
    '../_base_/models/decoupling_cifar_resnet32.py',
    '../_base_/datasets/cifar100_lt.py',
    '../_base_/schedules/decoupling_stage2_5e.py',
    '../_base_/decoupling_stage2_runtime.py',
]
load_from = 'work_dirs/joint_cifar-resnet32_cifar100-lt-if100/epoch_200.pth'
model = dict(head=dict(type='LWSClsHead'))  # the head freezes its own W, b
optim_wrapper = dict(optimizer=dict(lr=0.1))
auto_scale_lr = dict(base_batch_size=128)
train_dataloader = dict(sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
