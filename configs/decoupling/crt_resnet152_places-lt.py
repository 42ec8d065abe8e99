# Decoupling stage 2, cRT on Places-LT: stage-1 backbone frozen, classifier re-initialised and trained 10 epochs with
# class-balanced sampling, CE, lr 0.1, batch 256, offset cosine.
#   bash tools/dist_train.sh configs/decoupling/crt_resnet152_places-lt.py 8
_base_ = [
    '../_base_/models/decoupling_resnet152.py',
    '../_base_/datasets/places_lt.py',
    '../_base_/schedules/decoupling_stage2_10e.py',
    '../_base_/decoupling_crt_runtime.py',
]
load_from = 'work_dirs/joint_resnet152_places-lt/epoch_30.pth'
model = dict(backbone=dict(init_cfg=None))  # everything comes from the stage-1 checkpoint
# official Places-LT stage 2: classifier lr 0.1 (the feature lr is irrelevant: frozen), wd 5e-4, batch 256
optim_wrapper = dict(optimizer=dict(lr=0.1))
auto_scale_lr = dict(base_batch_size=256)
# per GPU: 8 x 32 = 256
train_dataloader = dict(batch_size=32, sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
