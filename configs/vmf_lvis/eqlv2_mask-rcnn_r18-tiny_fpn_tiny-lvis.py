# CPU demo / test config: the EQLv2 (SyncEQLV2Loss) bbox head in the tiny-LVIS setting of
# vmf-icd_mask-rcnn_r18-tiny_fpn_tiny-lvis.py (same network, data, schedule and evaluation; only the bbox head differs;
# built on the Seesaw demo, whose stock Shared2FCBBoxHead it keeps with a plain linear classifier)
#   python tools/misc/make_tiny_lvis.py data/tiny_lvis
#   tools/with_env.sh python tools/train.py configs/vmf_lvis/eqlv2_mask-rcnn_r18-tiny_fpn_tiny-lvis.py
_base_ = './seesaw_mask-rcnn_r18-tiny_fpn_tiny-lvis.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            cls_predictor_cfg=dict(_delete_=True, type='Linear'),
            loss_cls=dict(_delete_=True, type='SyncEQLV2Loss', num_classes={{_base_.num_classes}}, gamma=12, mu=0.8,
                          alpha=4.0, loss_weight=1.0))))
