# BCL (Zhu et al., CVPR 2022) on ImageNet-LT: ResNeXt-50 32x4d from scratch, 90 epochs, the released recipe
# (FlamieZhu/BCL main.py defaults, docs/methods.md §3): batch 256 in total (4 GPUs x 64), SGD lr 0.1 / momentum
# 0.9 / wd 5e-4, BCL's per-epoch cosine without warm-up, instance-balanced sampling; loss 1.0 * logit-adjusted CE
# (view 1) + 0.35 * BCL (views 2 and 3, tau 0.07, 1024-d); best checkpoint on val, report test.
#   bash tools/dist_train.sh configs/bcl/bcl_resnext50_imagenet-lt.py 4
#   bash tools/dist_test.sh configs/bcl/bcl_resnext50_imagenet-lt.py work_dirs/bcl_resnext50_imagenet-lt/best_*.pth 4
# Contrastive views: sim-sim (default); sim-rand / rand-rand (the README's 57.8 % checkpoint) with
#   --cfg-options train_dataloader.dataset.pipeline.1.cl_views=rand-rand
_base_ = [
    '../_base_/models/bcl_resnext50.py',
    '../_base_/datasets/imagenet_lt.py',
    '../_base_/datasets/bcl_views_224.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=1000))
train_pipeline = _base_.bcl_train_pipeline
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))  # x 4 GPUs = 256

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
# BCL adjust_lr: epoch e trains at lr0 / 2 (1 + cos(pi (e + 1) / (E + 1))), never lr0 itself (docs/methods.md §0.4)
param_scheduler = [dict(type='BCLCosineLR', num_epochs=90, warmup_epochs=0, by_epoch=True, begin=0, end=90)]
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=1)  # officially validated every epoch, best on val
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
