# CPU demo / test config: the stock Seesaw + NormedLinear bbox head in the tiny-LVIS setting of
# vmf-icd_mask-rcnn_r18-tiny_fpn_tiny-lvis.py (same network, data, schedule and evaluation; only the bbox head differs)
#   python tools/misc/make_tiny_lvis.py data/tiny_lvis
#   tools/with_env.sh python tools/train.py configs/vmf_lvis/seesaw_mask-rcnn_r18-tiny_fpn_tiny-lvis.py
_base_ = './vmf-icd_mask-rcnn_r18-tiny_fpn_tiny-lvis.py'

num_classes = 12
model = dict(
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='Shared2FCBBoxHead',  # mmdet's stock head (the vMF demo's, before its classifier swap)
            in_channels=32,
            fc_out_channels=64,
            roi_feat_size=7,
            num_classes=num_classes,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            cls_predictor_cfg=dict(type='NormedLinear'),  # temperature 20: the default in both spellings
            loss_cls=dict(type='SeesawLoss', p=0.8, q=2.0, num_classes=num_classes, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))))
# no vMF classifier: no class-count or calibration hook; kappa's paramwise key matches nothing
custom_hooks = []
