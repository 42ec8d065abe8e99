# Decoupling stage 1 (joint) on iNaturalist 2018: ResNet-50 from scratch + linear classifier with bias, instance-balanced
# sampling, CE, 90 epochs (the paper also reports 200: set T_max/end/max_epochs to 200), SGD 0.2 / momentum 0.9 /
# wd 1e-4, batch 512 (8 GPUs x 64), offset cosine to 0.
#   bash tools/dist_train.sh configs/decoupling/joint_resnet50_inat18.py 8
_base_ = [
    '../_base_/models/decoupling_resnet50.py',
    '../_base_/datasets/inat18_lt.py',
    '../_base_/schedules/decoupling_sgd_90e.py',
    '../_base_/default_runtime.py',
]
# instance-balanced: ltplug's seeded plain reshuffle (official IB); per GPU: 8 x 64 = 512
train_dataloader = dict(batch_size=64, sampler=dict(_delete_=True, type='InstanceBalancedSampler'))
optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))
