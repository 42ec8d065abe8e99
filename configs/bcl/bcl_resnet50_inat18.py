# BCL on iNaturalist 2018: ResNet-50 from scratch, 100 epochs, the released recipe (README command): batch 256 in total
# (4 GPUs x 64), SGD lr 0.2 / momentum 0.9 / wd 1e-4, BCL's per-epoch cosine, iNat mean / std; the same three views
# and losses as ImageNet-LT (1.0 * logit-adjusted CE + 0.35 * BCL, tau 0.07, 1024-d). The official val list is the test set.
#   bash tools/dist_train.sh configs/bcl/bcl_resnet50_inat18.py 4
_base_ = [
    '../_base_/models/bcl_resnet50.py',
    '../_base_/datasets/inat18_lt.py',
    '../_base_/datasets/bcl_views_224.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=8142))
train_pipeline = _base_.bcl_train_pipeline
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))  # x 4 GPUs = 256

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='BCLCosineLR', num_epochs=100, warmup_epochs=0, by_epoch=True, begin=0, end=100)]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
