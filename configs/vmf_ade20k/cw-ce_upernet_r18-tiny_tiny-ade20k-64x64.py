# CPU demo / test config: frequency-weighted CE in the tiny-ADE20K setting of
# vmf-icd_upernet_r18-tiny_tiny-ade20k-64x64.py
# (same network, data, schedule and metric; the decode head is mmseg's stock UPerHead with class-weighted CE).
#   python tools/misc/make_tiny_ade20k.py data/tiny_ade20k
#   tools/with_env.sh python tools/train.py configs/vmf_ade20k/cw-ce_upernet_r18-tiny_tiny-ade20k-64x64.py
_base_ = './vmf-icd_upernet_r18-tiny_tiny-ade20k-64x64.py'

model = dict(
    decode_head=dict(
        _delete_=True,
        type='UPerHead',  # mmseg's stock head of the UPerNet config (the vMF demo's, before its classifier swap)
        in_channels=[8, 16, 32, 64],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=32,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=dict(type='BN', requires_grad=True),  # the demo's BN (no SyncBN on one CPU process)
        align_corners=False,
        loss_decode=dict(type='ClassWeightedCELoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(loss_decode=dict(type='ClassWeightedCELoss')))
custom_hooks = [
    dict(type='SegPixelCountsHook'),
    dict(type='ClassWeightHook', weighting='inverse_power', power=0.5, counts_hook=dict(type='SegPixelCountsHook')),
]
