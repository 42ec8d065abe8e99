# Decoupling stage 2, cRT on iNaturalist 2018: stage-1 backbone frozen, classifier re-initialised and trained 30 epochs
# with class-balanced sampling, CE, SGD 0.2, wd 1e-4, batch 512, offset cosine.
#   bash tools/dist_train.sh configs/decoupling/crt_resnet50_inat18.py 8
_base_ = [
    '../_base_/models/decoupling_resnet50.py',
    '../_base_/datasets/inat18_lt.py',
    '../_base_/schedules/decoupling_stage2_10e.py',
    '../_base_/decoupling_crt_runtime.py',
]
load_from = 'work_dirs/joint_resnet50_inat18/epoch_90.pth'
optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))
param_scheduler = [dict(type='OffsetCosineAnnealingLR', T_max=30, eta_min=0.0, by_epoch=True, begin=0, end=30)]
train_cfg = dict(max_epochs=30)
# per GPU: 8 x 64 = 512
train_dataloader = dict(batch_size=64, sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
