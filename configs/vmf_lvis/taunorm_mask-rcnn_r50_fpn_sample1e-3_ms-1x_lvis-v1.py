# tau-normalised bbox classifier (Kang et al., ICLR 2020) for LVIS v1 Mask R-CNN R50-FPN: the baseline next to vMF.
# Training is exactly mmdet's stock recipe (the classifier is a plain Linear(1024, C + 1) in training mode, same init and
# state-dict keys), so this config can also evaluate a stock checkpoint:
#   tools/test.py configs/vmf_lvis/taunorm_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py STOCK.pth --cfg-options \
#       model.roi_head.bbox_head.cls_predictor_cfg.tau=0.7
# At test time the foreground rows are tau-normalised (see ltplug/det/tau_norm.py and the README for the choices).
_base_ = 'mmdet::lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'
custom_imports = dict(imports=['ltplug'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        bbox_head=dict(cls_predictor_cfg=dict(type='TauNormBBoxClassifier', tau=1.0, rescale=True, fg_bias='mean'))))

train_dataloader = dict(dataset=dict(dataset=dict(type='CheckedLVISV1Dataset')))
val_dataloader = dict(dataset=dict(type='CheckedLVISV1Dataset'))
test_dataloader = val_dataloader
