# Decoupling: NCM on the iNaturalist 2018 stage-1 features (cl2n, squared L2). Fit with tools/decoupling/fit_ncm.py
# (see ncm_resnext50_imagenet-lt.py for the commands), then test the checkpoint it writes with this config.
_base_ = ['./joint_resnet50_inat18.py']
model = dict(head=dict(_delete_=True, type='NCMClsHead', num_classes=8142, in_channels=2048, feat_type='cl2n',
                       dist_type='l2', topk=(1, 5)))
