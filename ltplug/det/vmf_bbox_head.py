"""vMF classification branch for Mask R-CNN / Faster R-CNN bbox heads on LVIS (vMF-OP; docs/methods.md §1.8).

No official detection code exists; these are our design choices (also in ``configs/vmf_lvis/README.md``):

* **Where.** ``VMFShared2FCBBoxHead`` is mmdet's ``Shared2FCBBoxHead`` with ``fc_cls`` (Linear(1024, C + 1)) replaced by
  :class:`VMFBBoxClassifier`, which owns the :class:`~ltplug.core.vmf.VMFClassifier` built by :mod:`ltplug.vmf_adapter`
  (the same arguments, defaults, schedule and log keys as the cls and seg heads); the shared FCs, the box regression,
  targets, sampling and post-processing are stock.
  The classifier input is the RoI feature after the second shared FC + ReLU.
* **Background.** An explicit extra logit, not a vMF component: a linear function of the *unnormalised* RoI feature,
  s_bg = w_bg . x + b_bg (the feature norm carries objectness, which the normalised vMF logits cannot see). The C
  foreground logits are the vMF logits kappa_c cos(x, mu_c) + b_c (+ log n_c in training); background is the last
  column, as mmdet expects, and softmax CE runs over all C + 1 logits as in the stock head.
* **Prior and background.** Training adds log n_c to the foreground logits (n_c = training instances of class c) and
  log(mean_c n_c) to the background logit. At test both are dropped. The foreground-vs-background margin therefore moves
  by log(n_c / mean n) per class, i.e. the prior is replaced by a *uniform foreground* prior with the same total
  foreground mass, and the background decision learned in training is kept (dropping log n_c alone would push every
  class about log(mean n) ~ 7 nats towards background on LVIS).
* **ICD** on the foreground class weights and kappa with lambda = 0.2 (1 - t/T)^0.9; CFC optional, on the positive RoIs
  (background RoIs are dropped as the ignore index).
* **Calibration.** ``VMFCalibrationHook`` finds the inner :class:`~ltplug.core.vmf.VMFClassifier` (foreground only);
  kappa' = kappa^alpha op'^(1 - alpha) changes the foreground logits, the background logit is untouched.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS

from ltplug.core.vmf import VMFClassifier
from ltplug.vmf_adapter import build_vmf_classifier, drop_init_override, pop_vmf_args, vmf_aux_losses

WHERE = 'VMFShared2FCBBoxHead: model.roi_head.bbox_head'


class VMFBBoxClassifier(nn.Module):
    """(N, d) RoI features -> (N, C + 1) logits: C vMF foreground logits and one linear background logit (last)."""

    def __init__(self, vmf: VMFClassifier) -> None:
        super().__init__()
        self.vmf = vmf
        self.bg = nn.Linear(vmf.in_features, 1)
        nn.init.normal_(self.bg.weight, 0.0, 0.01)  # the stock fc_cls init
        nn.init.zeros_(self.bg.bias)

    def background_offset(self) -> torch.Tensor:
        """log(mean_c n_c): added to the background logit in training (see the module docstring), else 0."""
        if not (self.training and self.vmf.use_prior):
            return self.bg.bias.new_zeros(())
        counts = self.vmf.class_counts.to(torch.float64)
        return torch.log(counts.mean()).to(self.bg.bias.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fg = self.vmf(x)
        bg = self.bg(x) + self.background_offset()
        return torch.cat([fg, bg.to(fg.dtype)], dim=-1)


@MODELS.register_module()
class VMFShared2FCBBoxHead(Shared2FCBBoxHead):
    """``Shared2FCBBoxHead`` (Mask / Faster R-CNN FPN) with the vMF classifier and an explicit background logit.

    Args:
        **kwargs: the vMF arguments of every vMF head (see :data:`ltplug.vmf_adapter.VMF_HEAD_DEFAULTS`; class counts
            default to ``DetClassCountsHook``), then ``Shared2FCBBoxHead``'s.
    """

    def __init__(self, *args, **kwargs) -> None:
        vmf_args = pop_vmf_args(kwargs)
        super().__init__(*args, **kwargs)
        if not self.with_cls:
            raise ValueError(f'{WHERE}.with_cls=False leaves nothing for the vMF classifier to do')
        if self.custom_cls_channels or getattr(self.loss_cls, 'use_sigmoid', False):
            raise ValueError(f'{WHERE}.loss_cls: the vMF classifier produces C + 1 softmax logits; use a softmax '
                             f'cross-entropy (got {type(self.loss_cls).__name__} with use_sigmoid / custom channels)')
        vmf, self.aux_schedule = build_vmf_classifier(WHERE, self.cls_last_dim, self.num_classes,
                                                      in_key='fc_out_channels', **vmf_args)
        self.fc_cls = VMFBBoxClassifier(vmf)
        self.init_cfg = drop_init_override(self.init_cfg, 'fc_cls')

    @property
    def vmf(self) -> VMFClassifier:
        return self.fc_cls.vmf

    def loss(self, cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights,
             reduction_override=None) -> dict:
        """Stock classification + regression losses, plus lambda (ICD [+ CFC on the positive RoIs])."""
        losses = super().loss(cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights,
                              reduction_override=reduction_override)
        losses.update(vmf_aux_losses(self.vmf, self.aux_schedule, labels=labels, ignore_index=self.num_classes))
        return losses
