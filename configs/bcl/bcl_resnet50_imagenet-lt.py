# BCL on ImageNet-LT with ResNet-50 (the README's --arch resnet50 command): as bcl_resnext50_imagenet-lt.py otherwise.
#   bash tools/dist_train.sh configs/bcl/bcl_resnet50_imagenet-lt.py 4
_base_ = ['./bcl_resnext50_imagenet-lt.py']
model = dict(backbone=dict(_delete_=True, type='ResNet', depth=50, num_stages=4, out_indices=(3,), style='pytorch',
                           zero_init_residual=False))
