# Decoupling stage 2, classifier re-training (cRT) on ImageNet-LT: the stage-1 (IB) backbone frozen, the linear classifier
# re-initialised and trained 10 epochs with class-balanced sampling (4 per class), CE, SGD 0.2, batch 512, offset cosine.
#   bash tools/dist_train.sh configs/decoupling/crt_resnext50_imagenet-lt.py 8
_base_ = [
    '../_base_/models/decoupling_resnext50.py',
    '../_base_/datasets/imagenet_lt.py',
    '../_base_/schedules/decoupling_stage2_10e.py',
    '../_base_/decoupling_crt_runtime.py',
]
# the stage-1 joint model trained on instance-balanced data (the official code loads its best-val weights: pass
# --cfg-options load_from=<work_dir>/best_accuracy_top1_epoch_N.pth to match that exactly)
load_from = 'work_dirs/joint-ib_resnext50_imagenet-lt/epoch_90.pth'
# per GPU: 8 x 64 = 512
train_dataloader = dict(batch_size=64, sampler=dict(_delete_=True, type='ClassBalancedSampler', num_samples_cls=4))
