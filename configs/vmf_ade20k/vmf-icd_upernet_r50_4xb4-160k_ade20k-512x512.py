# vMF classifier + ICD for ADE20K semantic segmentation: UPerNet R50, 160k iterations, 4 GPUs x 4 images, 512x512 crops.
# Everything but the decode head's classifier, the class-count hook and the evaluator is mmseg's own
# stock config (inherited from the installed package). See configs/vmf_ade20k/README.md for the design choices.
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['ltplug'], allow_failed_imports=False)

model = dict(
    decode_head=dict(
        # the stock UPerHead (all its arguments come from the base config) with conv_seg -> per-pixel vMF classifier
        type='VMFDecodeHead',
        head_type='UPerHead',
        kappa_init=16.0,  # the appendix: kappa initialised to 16 on ADE20K, not tuned
        use_prior=True,  # + log n_c (training pixel counts) in the training logits only
        aux_loss='icd',
        aux_loss_weight=0.2,
        aux_loss_power=0.9,
        aux_loss_schedule='iter',  # lambda = 0.2 (1 - iter / max_iters)^0.9
    ))

# kappa is a per-class concentration: no weight decay (the official `kappa_decay`)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'kappa': dict(decay_mult=0.0)}))

# per-class training pixel counts -> the log prior of the head and the head/body/tail split of the metric. Calibrated
# evaluation: add dict(type='VMFCalibrationHook', alpha=0.5) (the official run_test.sh value) to custom_hooks;
# tools/vmf/calibrate.py (which bakes alpha into a checkpoint) serves classification configs only.
custom_hooks = [dict(type='SegPixelCountsHook')]

val_evaluator = dict(type='LongTailIoUMetric', iou_metrics=['mIoU'], split='rank', ratios=(1, 1, 1))
test_evaluator = val_evaluator
