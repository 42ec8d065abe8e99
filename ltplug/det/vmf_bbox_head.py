"""vMF classification branch for Mask R-CNN / Faster R-CNN bbox heads on LVIS (vMF-OP; METHODS.md §1.8).

No official detection code exists; these are our design choices (also in ``configs/vmf_lvis/README.md``):

* **Where.** ``VMFShared2FCBBoxHead`` is mmdet's ``Shared2FCBBoxHead`` with ``fc_cls`` (Linear(1024, C + 1)) replaced by
  :class:`VMFBBoxClassifier`; the shared FCs, the box regression, targets, sampling and post-processing are stock.
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
* **ICD** on the foreground class weights and kappa with lambda_e = 0.2 (1 - e/E)^0.9 (per epoch, the official schedule;
  ``aux_loss_schedule='iter'`` for iteration-based loops); CFC optional, on the positive RoIs.
* **Calibration.** ``VMFCalibrationHook`` finds the inner :class:`~ltplug.core.vmf.VMFClassifier` (foreground only);
  kappa' = kappa^alpha op'^(1 - alpha) changes the foreground logits, the background logit is untouched.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead, Shared2FCBBoxHead, Shared4Conv1FCBBoxHead
from mmdet.registry import MODELS

from ltplug.core.vmf import VMFClassifier
from ltplug.engine.class_counts import load_class_counts
from ltplug.engine.vmf_schedule import configure_aux_losses, current_aux_weight, drop_init_override


@MODELS.register_module()
class VMFBBoxClassifier(nn.Module):
    """(N, d) RoI features -> (N, C + 1) logits: C vMF foreground logits and one linear background logit (last).

    Usable on its own as ``cls_predictor_cfg=dict(type='VMFBBoxClassifier')`` of any mmdet bbox head (vMF without ICD);
    ``VMFShared2FCBBoxHead`` adds the ICD / CFC losses. ``out_features`` = C + 1, as mmdet passes it.
    """

    def __init__(self, in_features: int, out_features: int, kappa_init: float = 16.0, use_prior: bool = True,
                 class_counts=None, op_fallback: str = 'bias') -> None:
        super().__init__()
        if isinstance(out_features, bool) or not isinstance(out_features, int) or out_features < 2:
            raise ValueError(f'VMFBBoxClassifier: out_features must be num_classes + 1 >= 2, got {out_features!r}')
        self.in_features = in_features
        self.num_classes = out_features - 1
        self.vmf = VMFClassifier(in_features, self.num_classes, kappa_init=kappa_init, use_prior=use_prior,
                                 op_fallback=op_fallback)
        self.bg = nn.Linear(in_features, 1)
        self.keep_input = False
        self.last_input: torch.Tensor | None = None
        self.reset_bg()
        if class_counts is not None:
            self.vmf.set_class_counts(load_class_counts(class_counts))

    def reset_bg(self) -> None:
        """Background logit init: Normal(0, 0.01) weight and zero bias, the stock ``fc_cls`` init."""
        nn.init.normal_(self.bg.weight, 0.0, 0.01)
        nn.init.zeros_(self.bg.bias)

    def background_offset(self) -> torch.Tensor:
        """log(mean_c n_c): added to the background logit in training (see the module docstring), else 0."""
        if not (self.training and self.vmf.use_prior):
            return self.bg.bias.new_zeros(())
        counts = self.vmf.class_counts.to(torch.float64)
        return torch.log(counts.mean()).to(self.bg.bias.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.keep_input:
            self.last_input = x
        fg = self.vmf(x)
        bg = self.bg(x) + self.background_offset()
        return torch.cat([fg, bg.to(fg.dtype)], dim=-1)


class VMFBBoxHeadMixin:
    """Makes a ``ConvFCBBoxHead`` subclass use :class:`VMFBBoxClassifier` and adds lambda_e (ICD [+ CFC]) to its loss.

    Extra args: kappa_init (16), use_prior, class_counts (default: ``DetClassCountsHook``), aux_loss ('icd' | 'none' |
    'cfc' | 'icd+cfc'), aux_loss_weight (0.2), aux_loss_power (0.9), aux_loss_schedule ('epoch' | 'iter'), op_fallback.
    """

    def __init__(self, *args, kappa_init: float = 16.0, use_prior: bool = True, class_counts=None,
                 aux_loss: str | list[str] = 'icd', aux_loss_weight: float = 0.2, aux_loss_power: float = 0.9,
                 aux_loss_schedule: str = 'epoch', op_fallback: str = 'bias', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        where = f'{type(self).__name__} (model.roi_head.bbox_head)'
        if not self.with_cls:
            raise ValueError(f'{where}: with_cls=False leaves nothing for the vMF classifier to do')
        if self.custom_cls_channels or getattr(self.loss_cls, 'use_sigmoid', False):
            raise ValueError(f'{where}: the vMF classifier produces C + 1 softmax logits; loss_cls must be a softmax '
                             f'cross-entropy (got {type(self.loss_cls).__name__} with use_sigmoid / custom channels)')
        configure_aux_losses(self, aux_loss, aux_loss_weight, aux_loss_power, aux_loss_schedule,
                             f'{type(self).__name__}: model.roi_head.bbox_head')
        self.fc_cls = VMFBBoxClassifier(self.cls_last_dim, self.num_classes + 1, kappa_init=kappa_init,
                                        use_prior=use_prior, class_counts=class_counts, op_fallback=op_fallback)
        self.fc_cls.keep_input = self.use_cfc
        self.init_cfg = drop_init_override(self.init_cfg, 'fc_cls')

    def loss(self, cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights,
             reduction_override=None) -> dict:
        """Stock classification + regression losses, plus lambda_e (ICD [+ CFC on the positive RoIs])."""
        losses = super().loss(cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights,
                              reduction_override=reduction_override)
        feats, self.fc_cls.last_input = self.fc_cls.last_input, None
        ref = cls_score
        if self.use_icd or self.use_cfc:
            weight = current_aux_weight(self.aux_loss_base, self.aux_loss_power, self.aux_loss_schedule,
                                        f'{type(self).__name__} (model.roi_head.bbox_head)')
            if self.use_icd:
                losses['loss_icd'] = weight * self.fc_cls.vmf.icd_loss().to(ref.dtype)
            if self.use_cfc:
                if feats is None or feats.shape[0] != labels.shape[0]:
                    raise RuntimeError('VMF bbox head: the CFC loss needs the RoI features of this step')
                pos = (labels >= 0) & (labels < self.num_classes)
                losses['loss_cfc'] = weight * self.fc_cls.vmf.cfc_loss(feats[pos], labels[pos]).to(ref.dtype)
            losses['icd_weight'] = ref.new_tensor(weight)
        losses['kappa_mean'] = self.fc_cls.vmf.kappa.detach().mean().to(ref.dtype)
        return losses


@MODELS.register_module()
class VMFShared2FCBBoxHead(VMFBBoxHeadMixin, Shared2FCBBoxHead):
    """``Shared2FCBBoxHead`` (Mask / Faster R-CNN FPN) with the vMF classifier and an explicit background logit."""


@MODELS.register_module()
class VMFShared4Conv1FCBBoxHead(VMFBBoxHeadMixin, Shared4Conv1FCBBoxHead):
    """``Shared4Conv1FCBBoxHead`` with the vMF classifier and an explicit background logit."""


@MODELS.register_module()
class VMFConvFCBBoxHead(VMFBBoxHeadMixin, ConvFCBBoxHead):
    """Any ``ConvFCBBoxHead`` layout with the vMF classifier and an explicit background logit."""

