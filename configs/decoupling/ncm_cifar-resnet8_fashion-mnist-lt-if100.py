# Decoupling: nearest class mean (NCM) on the Fashion-MNIST-LT IF 100 stage-1 features (cl2n features, squared L2).
# The centroids are fitted by tools/decoupling/fit_ncm.py, which writes the checkpoint to test:
#   python tools/decoupling/fit_ncm.py configs/decoupling/joint_cifar-resnet8_fashion-mnist-lt-if100.py CKPT \
#       --out-checkpoint work_dirs/ncm_fmnist/ncm.pth
_base_ = ['./joint_cifar-resnet8_fashion-mnist-lt-if100.py']
model = dict(head=dict(_delete_=True, type='NCMClsHead', num_classes=10, in_channels=64, feat_type='cl2n',
                       dist_type='l2'))
