# Decoupling stage 2, LWS on iNaturalist 2018: stage-1 backbone and classifier frozen, per-class scales trained 5 epochs
# with class-balanced sampling, CE, SGD 0.2, wd 1e-4 on the scales, batch 512, offset cosine.
#   bash tools/dist_train.sh configs/decoupling/lws_resnet50_inat18.py 8
_base_ = [
    '../_base_/models/decoupling_resnet50.py',
    '../_base_/datasets/inat18_lt.py',
    '../_base_/schedules/decoupling_stage2_5e.py',
    '../_base_/decoupling_stage2_runtime.py',
]
load_from = 'work_dirs/joint_resnet50_inat18/epoch_90.pth'
optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))
model = dict(head=dict(type='LWSClsHead'))  # the head freezes its own W, b
# per GPU: 8 x 64 = 512
train_dataloader = dict(batch_size=64, sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
