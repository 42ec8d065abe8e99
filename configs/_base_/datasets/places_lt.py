# Places-LT (Liu et al. 2019; docs/methods.md §0.3, §4.4): 365 classes, train 62,500 images (4980..5 per
# class), val 7,300 (model selection), test 36,500 (what papers report). Official `path label` lists under data_root:
#   data/places365/Places_LT_{train,val,test}.txt, images data/places365/{train,val}/<class>/... (docs/datasets.md).
# Everything else is the ImageNet-LT base: classifier-balancing trains Places-LT with the ImageNet-LT transforms and
# ImageNet mean / std.
_base_ = ['./imagenet_lt.py']
dataset_type = 'PlacesLT'
data_root = 'data/places365'
data_preprocessor = dict(num_classes=365)

train_dataloader = dict(
    batch_size=64,  # per GPU; the official cRT / LWS runs use 256 in total
    dataset=dict(type=dataset_type, data_root=data_root),
)
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
# many > 100, medium 20..100 (inclusive), few < 20 training images: 131 / 163 / 71 classes
val_evaluator = dict(num_classes=365)
test_evaluator = dict(num_classes=365)
