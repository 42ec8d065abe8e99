# Long-tailed digits: scikit-learn's shipped 8x8 digit images (real data, nothing downloads), exponential profile
# n_i = int(n_max * (1/IF)^(i/(C-1))) with class 0 the head, balanced val / test splits. See ltplug/cls/datasets/digits_lt.py.
dataset_type = 'DigitsLT'
data_preprocessor = dict(
    num_classes=10,
    # pixel mean / std of all 1,797 digits (values 0..16 rescaled to 0..255 and rounded), identical for the 3 replicated
    # channels (tests/cls/test_datasets_digits.py recomputes them; the default train split alone gives 78.20 / 96.08)
    mean=[77.85, 77.85, 77.85],
    std=[95.85, 95.85, 95.85],
    to_rgb=False,
)
train_pipeline = [
    dict(type='RandomCrop', crop_size=8, padding=1),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(type=dataset_type, split='train', imb_factor=20, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,  # an epoch is int(N / batch) iterations, the official convention
)
val_dataloader = dict(
    batch_size=200,
    num_workers=0,
    dataset=dict(type=dataset_type, split='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = dict(
    batch_size=200,
    num_workers=0,
    dataset=dict(type=dataset_type, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Shot thresholds scaled to this small data set (n_max = 120): many > 50, few < 20 images (papers use 100 / 20).
val_evaluator = dict(type='LongTailAccuracy', many_thr=50, few_thr=20)
test_evaluator = val_evaluator
