# Decoupling: nearest class mean (NCM) classifier on the digits stage-1 features (cl2n features, squared-L2 score).
# The centroids are fitted (not trained) by tools/decoupling/fit_ncm.py, which writes the checkpoint to test:
#   python tools/decoupling/fit_ncm.py configs/decoupling/joint_cifar-resnet20_digits-lt.py \
#       work_dirs/joint_cifar-resnet20_digits-lt/epoch_30.pth --out-checkpoint work_dirs/ncm_digits/ncm.pth
#   python tools/test.py configs/decoupling/ncm_cifar-resnet20_digits-lt.py work_dirs/ncm_digits/ncm.pth
_base_ = ['./joint_cifar-resnet20_digits-lt.py']
model = dict(head=dict(_delete_=True, type='NCMClsHead', num_classes=10, in_channels=64, feat_type='cl2n',
                       dist_type='l2'))
