# Decoupling stage 1 (joint) on ImageNet-LT: ResNeXt-50 32x4d from scratch + linear classifier with bias, CE, 90 epochs,
# progressively-balanced sampling (official ClassPrioritySampler: epoch k of 90 mixes IB and CB with
# lam = (k - 1) / 89).
# SGD 0.2 / momentum 0.9 / wd 5e-4, batch 512 (8 GPUs x 64), offset cosine to 0. Paper (Kang et al. 2020, Table):
# see configs/decoupling/README.md.
#   bash tools/dist_train.sh configs/decoupling/joint-pb_resnext50_imagenet-lt.py 8
_base_ = [
    '../_base_/models/decoupling_resnext50.py',
    '../_base_/datasets/imagenet_lt.py',
    '../_base_/schedules/decoupling_sgd_90e.py',
    '../_base_/default_runtime.py',
]
# per GPU: 8 x 64 = 512
train_dataloader = dict(batch_size=64, sampler=dict(_delete_=True, type='ProgressivelyBalancedSampler', num_epochs=90))
