# mmdet's stock Seesaw loss + NormedLinear classifier (Wang et al., CVPR 2021) in the SAME recipe as the vMF configs
# here (mmdet's lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1: R50-FPN, multi-scale 1x, repeat-factor sampling
# 1e-3), so APr / APc / APf compare like with like. The classifier and loss settings are those of mmdet's own
# configs/seesaw_loss/mask-rcnn_r50_fpn_seesaw-loss_sample1e-3-ms-2x_lvis-v1.py (NormedLinear temperature 20, left
# at its default: mmdet 3.3 spells the argument `tempearture`, onedl-mmdetection 3.5 `temperature`; SeesawLoss p=0.8,
# q=2.0); mmdet ships that recipe with a 2x schedule, we keep the 1x of the vMF configs. Nothing here is ltplug code
# but the dataset check.
_base_ = 'mmdet::lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'
custom_imports = dict(imports=['ltplug'], allow_failed_imports=False)

num_classes = 1203
model = dict(
    roi_head=dict(
        bbox_head=dict(
            cls_predictor_cfg=dict(type='NormedLinear'),  # temperature 20: the default in both spellings
            loss_cls=dict(type='SeesawLoss', p=0.8, q=2.0, num_classes=num_classes, loss_weight=1.0))))

train_dataloader = dict(dataset=dict(dataset=dict(type='CheckedLVISV1Dataset')))
val_dataloader = dict(dataset=dict(type='CheckedLVISV1Dataset'))
test_dataloader = val_dataloader
