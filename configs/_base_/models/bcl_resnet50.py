# BCL two-branch model (official BCLModel, resnet50): as bcl_resnext50.py with a ResNet-50 encoder (torchvision-style,
# stride on the 3x3 conv, no zero-init of the last BN of each block).
_base_ = ['./bcl_resnext50.py']
model = dict(backbone=dict(_delete_=True, type='ResNet', depth=50, num_stages=4, out_indices=(3,), style='pytorch',
                           zero_init_residual=False))
