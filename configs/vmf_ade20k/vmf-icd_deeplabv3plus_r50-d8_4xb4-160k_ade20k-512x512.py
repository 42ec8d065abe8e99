# vMF classifier + ICD for ADE20K semantic segmentation: DeepLabV3+ R50-D8, 160k iterations, 4 GPUs x 4 images, 512x512.
# Everything but the decode head's classifier, the class-count hook and the evaluator is mmseg's own
# stock config (inherited from the installed package). See configs/vmf_ade20k/README.md for the design choices.
_base_ = 'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['ltplug'], allow_failed_imports=False)

model = dict(
    decode_head=dict(
        # the stock DepthwiseSeparableASPPHead with conv_seg -> per-pixel vMF classifier
        type='VMFDecodeHead',
        head_type='DepthwiseSeparableASPPHead',
        kappa_init=16.0,
        use_prior=True,
        aux_loss='icd',
        aux_loss_weight=0.2,
        aux_loss_power=0.9,
        aux_loss_schedule='iter',
    ))

optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'kappa': dict(decay_mult=0.0)}))

custom_hooks = [dict(type='SegPixelCountsHook')]

val_evaluator = dict(type='LongTailIoUMetric', iou_metrics=['mIoU'], split='rank', ratios=(1, 1, 1))
test_evaluator = val_evaluator
