"""RandAugment with the original timm op set, the one BCL's ``randaugment.py`` uses (``rand-n2-m10-mstd0.5``).

mmpretrain's preset ``timm_increasing`` is timm's *later* op set; BCL uses the earlier ``_RAND_TRANSFORMS``: every op
applied with p = 0.5, magnitude m ~ N(M, std) clipped to [0, 10], ops drawn with replacement. It is rebuilt here from
mmpretrain's own ops, mapped level -> argument as in that file:

- Rotate: +-30 m/10 degrees; ShearX/Y: +-0.3 m/10; TranslateX/YRel: +-0.45 m/10 of the image size (the
  ``translate_const`` that BCL passes is unused by these relative ops);
- Color / Contrast / Brightness / Sharpness: enhancement factor 0.1 + 1.8 m/10, never negated (not ``1 +- 0.9 m/10``);
- PosterizeTpu: keep int(4 m/10) bits (mmpretrain's ``Posterize`` rounds up, see :class:`TruncPosterize`);
- Solarize: threshold 256 m/10; SolarizeAdd: add 110 m/10 below 128; AutoContrast, Equalize, Invert.

Known differences: the fill of the geometric ops is ``pad_val`` (give the BGR dataset mean, BCL fills with the ImageNet
mean), and their interpolation is fixed (default bicubic) where timm draws bilinear or bicubic per call.
"""
from __future__ import annotations

import copy

import mmcv
from mmpretrain.datasets.transforms import Posterize, RandAugment
from mmpretrain.registry import TRANSFORMS

# timm's original `_RAND_TRANSFORMS`, as mmpretrain policies (magnitude_range = the argument at level 0 .. 10)
TIMM_RAND_POLICIES: list[dict] = [
    dict(type='AutoContrast'),
    dict(type='Equalize'),
    dict(type='Invert'),
    dict(type='Rotate', magnitude_range=(0, 30)),
    dict(type='TruncPosterize', magnitude_range=(0, 4)),
    dict(type='Solarize', magnitude_range=(0, 256)),
    dict(type='SolarizeAdd', magnitude_range=(0, 110)),
    # mmpretrain applies factor 1 + magnitude: magnitude in [-0.9, 0.9] gives factor 0.1 + 1.8 m / 10
    dict(type='ColorTransform', magnitude_range=(-0.9, 0.9), random_negative_prob=0.0),
    dict(type='Contrast', magnitude_range=(-0.9, 0.9), random_negative_prob=0.0),
    dict(type='Brightness', magnitude_range=(-0.9, 0.9), random_negative_prob=0.0),
    dict(type='Sharpness', magnitude_range=(-0.9, 0.9), random_negative_prob=0.0),
    dict(type='Shear', magnitude_range=(0, 0.3), direction='horizontal'),
    dict(type='Shear', magnitude_range=(0, 0.3), direction='vertical'),
    dict(type='Translate', magnitude_range=(0, 0.45), direction='horizontal'),
    dict(type='Translate', magnitude_range=(0, 0.45), direction='vertical'),
]


@TRANSFORMS.register_module()
class TruncPosterize(Posterize):
    """``Posterize`` keeping int(magnitude) bits (truncation, as timm's PosterizeTpu) instead of mmpretrain's ceil."""

    def transform(self, results: dict) -> dict:
        if self.random_disable():
            return results
        bits = self.bits if self.bits is not None else int(self.random_magnitude())
        img = results['img']
        results['img'] = mmcv.posterize(img, bits=int(bits)).astype(img.dtype)
        return results


@TRANSFORMS.register_module()
class TimmRandAugment(RandAugment):
    """RandAugment ``rand-n{num_policies}-m{magnitude_level}-mstd{magnitude_std}`` with timm's original op set.

    Args:
        num_policies: ops applied per image (n, 2 in BCL).
        magnitude_level: M (10 in BCL), out of ``total_level`` (10).
        magnitude_std: std of the per-op magnitude noise (0.5 in BCL).
        pad_val: fill of rotate / shear / translate, in the image's channel order (BGR for mmpretrain loaders).
        interpolation: interpolation of the geometric ops.
        policies: another op list (default :data:`TIMM_RAND_POLICIES`).
    """

    def __init__(self, num_policies: int = 2, magnitude_level: float = 10, magnitude_std: float | str = 0.5,
                 total_level: float = 10, pad_val: int | tuple[int, ...] = 128, interpolation: str = 'bicubic',
                 policies: list[dict] | str | None = None) -> None:
        if not 0 <= magnitude_level <= total_level:
            raise ValueError(f'TimmRandAugment: magnitude_level must be in [0, total_level={total_level}], got '
                             f'{magnitude_level}')
        super().__init__(policies=copy.deepcopy(policies or TIMM_RAND_POLICIES), num_policies=num_policies,
                         magnitude_level=magnitude_level, magnitude_std=magnitude_std, total_level=total_level,
                         hparams=dict(pad_val=tuple(pad_val) if isinstance(pad_val, (list, tuple)) else pad_val,
                                      interpolation=interpolation))
