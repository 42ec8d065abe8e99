# CAMC (a labelled reconstruction: see README.md) on ImageNet-LT with ResNeXt-50 32x4d from scratch. The last stage map
# (N, 2048, 7, 7) goes to the CAM-calibrated cosine head (neck=None). The paper's recipe is unknown: network, data,
# batch 512 and the 90-epoch SGD schedule are those of the decoupling joint baseline (classifier-balancing), so that
# only the head differs from that baseline. Data layout: data/imagenet with ImageNet_LT_{train,val,test}.txt
# (docs/methods.md §0.3).
_base_ = [
    '../_base_/models/decoupling_resnext50.py',
    '../_base_/datasets/imagenet_lt.py',
    '../_base_/schedules/decoupling_sgd_90e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=64)  # per GPU: 8 x 64 = 512; the base's plain shuffle

model = dict(
    neck=None,  # the head needs the spatial map before pooling
    head=dict(
        _delete_=True,
        type='CAMCalibratedClsHead',
        num_classes=1000,
        in_channels=2048,
        scale=16.0,  # the OLTR / decoupling ImageNet-LT cosine-classifier value
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=None,
        topk=(1, 5),
    ),
)
train_cfg = dict(val_interval=5)
