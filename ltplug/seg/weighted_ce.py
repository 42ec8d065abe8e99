"""``ClassWeightedCELoss``: mmseg's ``CrossEntropyLoss`` whose class-weighted mean works with ignored pixels.

mmseg 1.2.2's ``cross_entropy`` computes the class-weighted mean's denominator as ``class_weight[label]`` over every
label value, the ignore index (255) included, which raises ``IndexError: index 255 is out of bounds`` on every
ADE20K batch (open upstream: open-mmlab/mmsegmentation issue 3734, PR 3457 unmerged). This subclass lets mmseg compute
the per-pixel weighted losses (``reduction='none'``: F.cross_entropy with ``weight=class_weight`` and the ignore
index, times ``loss_weight``) and divides their sum by the sum of w[label] over the non-ignored pixels, i.e. PyTorch's
``F.cross_entropy(weight=..., ignore_index=...)`` mean. Without class weights, with another reduction, an explicit
``avg_factor`` or per-pixel ``weight``, or with sigmoid / mask CE it is mmseg's loss unchanged. ``class_weight`` is
set from the pixel counts by ``ClassWeightHook`` (``configs/vmf_ade20k/cw-ce_*``; docs/methods.md §8.5).
"""
from __future__ import annotations

import torch
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS


@MODELS.register_module()
class ClassWeightedCELoss(CrossEntropyLoss):
    """mmseg ``CrossEntropyLoss`` (same arguments) with a class-weighted mean that skips the ignore index."""

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None,
                avg_factor: float | None = None, reduction_override: str | None = None, ignore_index: int = -100,
                **kwargs) -> torch.Tensor:
        reduction = reduction_override or self.reduction
        if (self.class_weight is None or reduction != 'mean' or avg_factor is not None or weight is not None
                or self.use_sigmoid or self.use_mask):
            return super().forward(cls_score, label, weight, avg_factor, reduction_override, ignore_index, **kwargs)
        if len(self.class_weight) != cls_score.shape[1]:
            raise ValueError(f'ClassWeightedCELoss: class_weight has {len(self.class_weight)} entries but the decode '
                             f'head outputs {cls_score.shape[1]} classes')
        per_pixel = super().forward(cls_score, label, None, None, 'none', ignore_index, **kwargs)
        valid = label != ignore_index
        denom = cls_score.new_tensor(self.class_weight)[label[valid]].sum()
        return per_pixel.sum() / denom.clamp_min(torch.finfo(per_pixel.dtype).tiny)
