"""BCL's three-view transform (sim-sim / sim-rand / rand-rand) and the timm-original RandAugment it stacks."""
from __future__ import annotations

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from mmpretrain.registry import TRANSFORMS

import ltplug  # noqa: F401
from ltplug.cls.transforms_randaug import TIMM_RAND_POLICIES


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    """Nested pipelines are built through mmcv's Compose, which resolves names in the default scope (as in a run)."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def _img(seed: int = 0, shape=(8, 8, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# deterministic markers: view 1 = inverted image, sim = unchanged, rand = posterized to 1 bit
CLS = [dict(type='Invert', prob=1.0)]
SIM: list = []
RAND = [dict(type='TruncPosterize', bits=1, prob=1.0)]


def _views(cl_views: str, img: np.ndarray) -> list[np.ndarray]:
    t = TRANSFORMS.build(dict(type='BCLMultiView', cls_pipeline=CLS, sim_pipeline=SIM, rand_pipeline=RAND,
                              cl_views=cl_views))
    out = t(dict(img=img.copy(), gt_label=3))
    assert out['gt_label'] == 3
    return out['img']


@pytest.mark.parametrize('cl_views,kinds', [
    ('sim-sim', ('sim', 'sim')),
    ('sim-rand', ('rand', 'sim')),
    ('rand-rand', ('rand', 'rand')),
    ('randstack-randstack', ('rand', 'rand')),  # the name in the released main.py
])
def test_view_pipelines_per_mode(cl_views, kinds):
    img = _img()
    expected = {'sim': img, 'rand': (img >> 7) << 7}
    views = _views(cl_views, img)
    assert len(views) == 3
    np.testing.assert_array_equal(views[0], 255 - img)  # view 1: the classification pipeline
    for view, kind in zip(views[1:], kinds):
        np.testing.assert_array_equal(view, expected[kind])


def test_rand_rand_with_real_randaugment_draws_independent_views():
    rand = [dict(type='RandomResizedCrop', scale=16, backend='pillow'),
            dict(type='TimmRandAugment', num_policies=2, magnitude_level=10, magnitude_std=0.5,
                 pad_val=(104, 116, 124))]
    cls = [dict(type='RandomResizedCrop', scale=16, backend='pillow')]
    t = TRANSFORMS.build(dict(type='BCLMultiView', cls_pipeline=cls, rand_pipeline=rand, cl_views='rand-rand'))
    assert t.view_kinds == ('cls', 'rand', 'rand')
    differ = 0
    for seed in range(5):
        views = t(dict(img=_img(seed, (40, 48, 3))))['img']
        assert [v.shape for v in views] == [(16, 16, 3)] * 3 and all(v.dtype == np.uint8 for v in views)
        differ += int(not np.array_equal(views[1], views[2]))
    assert differ >= 4
    packed = TRANSFORMS.build(dict(type='PackInputs'))(t(dict(img=_img(9, (20, 20, 3)), gt_label=1)))
    assert [tuple(x.shape) for x in packed['inputs']] == [(3, 16, 16)] * 3
    assert packed['data_samples'].gt_label.tolist() == [1]


def test_bad_configurations_raise():
    with pytest.raises(ValueError, match="cl_views must be one of"):
        TRANSFORMS.build(dict(type='BCLMultiView', cls_pipeline=CLS, sim_pipeline=SIM, cl_views='rand-sim'))
    with pytest.raises(ValueError, match="cl_views='rand-rand' needs rand_pipeline"):
        TRANSFORMS.build(dict(type='BCLMultiView', cls_pipeline=CLS, sim_pipeline=SIM, cl_views='rand-rand'))
    with pytest.raises(ValueError, match="cl_views='sim-rand' needs sim_pipeline"):
        TRANSFORMS.build(dict(type='BCLMultiView', cls_pipeline=CLS, rand_pipeline=RAND, cl_views='sim-rand'))
    with pytest.raises(ValueError, match='must be a list of transforms'):
        TRANSFORMS.build(dict(type='BCLMultiView', cls_pipeline=dict(type='Invert'), sim_pipeline=SIM))


# timm's original level -> argument maps (BCL randaugment.py), written out independently of the policy table
TIMM_ARG = {
    'Rotate': lambda m: 30 * m / 10,
    'TruncPosterize': lambda m: 4 * m / 10,  # then truncated to int bits
    'Solarize': lambda m: 256 * m / 10,
    'SolarizeAdd': lambda m: 110 * m / 10,
    'ColorTransform': lambda m: 1.8 * m / 10 + 0.1 - 1,  # mmpretrain applies factor 1 + magnitude
    'Contrast': lambda m: 1.8 * m / 10 + 0.1 - 1,
    'Brightness': lambda m: 1.8 * m / 10 + 0.1 - 1,
    'Sharpness': lambda m: 1.8 * m / 10 + 0.1 - 1,
    'Shear': lambda m: 0.3 * m / 10,
    'Translate': lambda m: 0.45 * m / 10,
}


@pytest.mark.parametrize('level', [0.0, 3.7, 10.0])
def test_timm_rand_augment_magnitudes_follow_timm_level_maps(level):
    t = TRANSFORMS.build(dict(type='TimmRandAugment', magnitude_level=level, magnitude_std=0.0))
    names = [type(op).__name__ for op in t.transforms]
    assert names == ['AutoContrast', 'Equalize', 'Invert', 'Rotate', 'TruncPosterize', 'Solarize', 'SolarizeAdd',
                     'ColorTransform', 'Contrast', 'Brightness', 'Sharpness', 'Shear', 'Shear', 'Translate',
                     'Translate']
    assert [op.prob for op in t.transforms] == [0.5] * 15
    for op in t.transforms:
        name = type(op).__name__
        if name in TIMM_ARG:
            assert op.random_magnitude() == pytest.approx(TIMM_ARG[name](level), abs=1e-12), name
        if name in ('ColorTransform', 'Contrast', 'Brightness', 'Sharpness'):
            assert op.random_negative_prob == 0  # timm never negates the enhancement factors
        if name in ('Rotate', 'Shear', 'Translate'):
            assert op.random_negative_prob == 0.5


def test_enhancement_factor_and_truncating_posterize_on_images():
    grey = np.full((4, 4, 3), 100, np.uint8)
    policy = dict(next(p for p in TIMM_RAND_POLICIES if p['type'] == 'Brightness'), prob=1.0, magnitude_level=10,
                  total_level=10)
    out = TRANSFORMS.build(policy)(dict(img=grey.copy()))['img']
    np.testing.assert_array_equal(out, np.full_like(grey, 190))  # factor 0.1 + 1.8 = 1.9
    img = _img(3)
    for level, bits in ((7.6, 3), (10.0, 4)):  # int(4 m / 10): 3.04 -> 3, 4.0 -> 4 (mmpretrain's ceil gives 4, 4)
        op = TRANSFORMS.build(dict(type='TruncPosterize', magnitude_range=(0, 4), magnitude_level=level, prob=1.0))
        shift = 8 - bits
        np.testing.assert_array_equal(op(dict(img=img.copy()))['img'], (img >> shift) << shift)


def test_timm_rand_augment_runs_and_keeps_shape():
    t = TRANSFORMS.build(dict(type='TimmRandAugment', pad_val=[104, 116, 124]))
    for seed in range(10):
        out = t(dict(img=_img(seed, (12, 10, 3))))['img']
        assert out.shape == (12, 10, 3) and out.dtype == np.uint8
    with pytest.raises(ValueError, match='magnitude_level must be in'):
        TRANSFORMS.build(dict(type='TimmRandAugment', magnitude_level=11))
