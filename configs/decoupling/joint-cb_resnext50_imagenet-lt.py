# Decoupling stage 1 (joint) on ImageNet-LT: ResNeXt-50 32x4d from scratch + linear classifier with bias, CE, 90 epochs,
# class-balanced sampling (official ClassAwareSampler: 128 classes x 4 images per batch of 512).
# SGD 0.2 / momentum 0.9 / wd 5e-4, batch 512 (8 GPUs x 64), offset cosine to 0. Paper (Kang et al. 2020, Table):
# see configs/decoupling/README.md.
#   bash tools/dist_train.sh configs/decoupling/joint-cb_resnext50_imagenet-lt.py 8
_base_ = [
    '../_base_/models/decoupling_resnext50.py',
    '../_base_/datasets/imagenet_lt.py',
    '../_base_/schedules/decoupling_sgd_90e.py',
    '../_base_/default_runtime.py',
]
# per GPU: 8 x 64 = 512
train_dataloader = dict(batch_size=64, sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
