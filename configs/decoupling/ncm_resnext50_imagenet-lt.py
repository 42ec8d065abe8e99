# Decoupling: nearest class mean (NCM) on the ImageNet-LT stage-1 (IB) features: cl2n features, squared-L2 score
# (official defaults). Fit the centroids, then test the checkpoint fit_ncm.py writes:
#   python tools/decoupling/extract_features.py configs/decoupling/joint-ib_resnext50_imagenet-lt.py \
#       work_dirs/joint-ib_resnext50_imagenet-lt/epoch_90.pth --out work_dirs/decoupling_in1k_feats.npz
#   python tools/decoupling/fit_ncm.py configs/decoupling/joint-ib_resnext50_imagenet-lt.py \
#       work_dirs/joint-ib_resnext50_imagenet-lt/epoch_90.pth --features work_dirs/decoupling_in1k_feats.npz \
#       --out-checkpoint work_dirs/ncm_resnext50_imagenet-lt.pth
#   bash tools/dist_test.sh configs/decoupling/ncm_resnext50_imagenet-lt.py work_dirs/ncm_resnext50_imagenet-lt.pth 8
_base_ = ['./joint-ib_resnext50_imagenet-lt.py']
model = dict(head=dict(_delete_=True, type='NCMClsHead', num_classes=1000, in_channels=2048, feat_type='cl2n',
                       dist_type='l2', topk=(1, 5)))
