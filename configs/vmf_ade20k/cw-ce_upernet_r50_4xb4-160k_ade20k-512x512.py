# Frequency-weighted cross-entropy for ADE20K: mmseg's stock UPerNet R50, 160k iterations, 4 GPUs x 4 images, 512x512
# crops, whose CrossEntropyLoss (decode and auxiliary heads) gets per-class weights from the training PIXEL counts that
# SegPixelCountsHook computes (cached): w_c proportional to n_c^(-1/2), normalised to sum C (ClassWeightHook,
# weighting='inverse_power'). Same schedule and metric (head / body / tail mIoU) as the vMF configs beside it.
# The exponent 1/2 is our choice (no reference recipe; set custom_hooks.1.power=1.0 for inverse frequency).
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['ltplug'], allow_failed_imports=False)

# mmseg's CrossEntropyLoss with a class-weighted mean that skips the ignore index (the stock one raises an IndexError
# on ignored pixels once class_weight is set: open-mmlab/mmsegmentation issue 3734); all other arguments are stock
model = dict(
    decode_head=dict(loss_decode=dict(type='ClassWeightedCELoss')),
    auxiliary_head=dict(loss_decode=dict(type='ClassWeightedCELoss')))

custom_hooks = [
    # per-class training pixel counts -> the head/body/tail split of the metric
    dict(type='SegPixelCountsHook'),
    # the same counts -> class_weight of every CrossEntropyLoss of the model, set before the first iteration
    dict(type='ClassWeightHook', weighting='inverse_power', power=0.5, counts_hook=dict(type='SegPixelCountsHook')),
]

val_evaluator = dict(type='LongTailIoUMetric', iou_metrics=['mIoU'], split='rank', ratios=(1, 1, 1))
test_evaluator = val_evaluator
