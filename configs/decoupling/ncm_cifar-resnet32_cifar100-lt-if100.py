# Decoupling: NCM on the CIFAR-100-LT stage-1 features (cl2n, squared L2). Fit with tools/decoupling/fit_ncm.py, then
# test the checkpoint it writes with this config.
_base_ = ['./joint_cifar-resnet32_cifar100-lt-if100.py']
model = dict(head=dict(_delete_=True, type='NCMClsHead', num_classes=100, in_channels=64, feat_type='cl2n',
                       dist_type='l2'))
