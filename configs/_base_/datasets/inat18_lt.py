# iNaturalist 2018 (docs/methods.md §0.3, §4.4): 8142 classes, train 437,513 images; the official val list
# (24,426, 3 per class) is both val and test, as in the papers. Official `path label` lists under data_root:
#   data/inat2018/iNaturalist18_{train,val}.txt, images data/inat2018/train_val2018/<kingdom>/<id>/... (docs/datasets.md).
# The ImageNet-LT base with classifier-balancing's iNat changes: no ColorJitter in training, and the iNat mean / std
# (0.466, 0.471, 0.380) / (0.195, 0.194, 0.192) times 255.
_base_ = ['./imagenet_lt.py']
dataset_type = 'INat2018LT'
data_root = 'data/inat2018'
data_preprocessor = dict(
    num_classes=8142,
    mean=[118.83, 120.105, 96.9],
    std=[49.725, 49.47, 48.96],
)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bilinear'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
# many > 100, medium 20..100 (inclusive), few < 20 training images: commonly 842 / 4076 / 3224 classes
val_evaluator = dict(num_classes=8142)
test_evaluator = dict(num_classes=8142)
