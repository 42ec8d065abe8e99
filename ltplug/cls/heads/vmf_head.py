"""mmpretrain head for the vMF classifier of vMF-OP (Wang et al., ECCV 2022); the maths is in :mod:`ltplug.core.vmf`.

Loss = CE(s, y) + lambda_e (ICD [+ CFC]) with s the training logits (kappa cos + b + log n_c) and
lambda_e = 0.2 (1 - e/E)^0.9 read from mmengine's MessageHub (``epoch`` / ``max_epochs``, kept by RuntimeInfoHook).
Test logits are kappa' cos + b (no prior). Class counts come from ``ClassCountsHook`` (it finds the inner
:class:`~ltplug.core.vmf.VMFClassifier` through ``set_class_counts``) or ``class_counts=``; everything the test needs
(log prior, b, op, calibration) is in persistent buffers, so ``tools/test.py`` works from the checkpoint alone.
Keep kappa out of weight decay with ``paramwise_cfg=dict(custom_keys={'kappa': dict(decay_mult=0.0)})``.
"""
from __future__ import annotations

import torch
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.core.vmf import VMFClassifier
from ltplug.engine.class_counts import load_class_counts
from ltplug.engine.vmf_schedule import configure_aux_losses, current_aux_weight


@MODELS.register_module()
class VMFClsHead(ClsHead):
    """vMF classifier head with the ICD / CFC auxiliary losses and zero-cost post-training calibration.

    Args:
        num_classes: C. in_channels: d, the pooled feature dimension (keep the backbone's final ReLU).
        kappa_init: initial concentration of every class (16, the official default).
        use_prior: add log n_c to the training logits (the official balanced posterior); test logits never have it.
        class_counts: training counts (list or class-count file); default: ``ClassCountsHook`` sets them.
        aux_loss: 'none' (official vmf.yaml), 'icd' (vmf_icd.yaml), 'cfc' or 'icd+cfc'.
        aux_loss_weight / aux_loss_power: lambda_e = aux_loss_weight (1 - e/E)^aux_loss_power (0.2, 0.9 officially).
        aux_loss_schedule: 'auto' (epoch-based runs: e/E, the official rule; single-epoch / iteration-based runs:
            iter/max_iters), 'epoch' or 'iter'.
        op_fallback: what the calibration vector op is without ICD: 'bias' (official: b(kappa)) or 'overlap'
            (overlap row means of the final weights); see :class:`~ltplug.core.vmf.VMFClassifier`.
        loss: classification loss on the logits (plain softmax CE, as officially).
    """

    def __init__(self, num_classes: int, in_channels: int, kappa_init: float = 16.0, use_prior: bool = True,
                 class_counts=None, aux_loss: str | list[str] = 'none', aux_loss_weight: float = 0.2,
                 aux_loss_power: float = 0.9, aux_loss_schedule: str = 'auto', op_fallback: str = 'bias',
                 loss: dict | None = None, init_cfg: dict | None = None, **kwargs) -> None:
        super().__init__(loss=loss or dict(type='CrossEntropyLoss', loss_weight=1.0), init_cfg=init_cfg, **kwargs)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'VMFClsHead: model.head.num_classes must be a positive integer, got {num_classes!r}')
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 2:
            raise ValueError(f'VMFClsHead: model.head.in_channels must be an integer >= 2, got {in_channels!r}')
        configure_aux_losses(self, aux_loss, aux_loss_weight, aux_loss_power, aux_loss_schedule,
                             'VMFClsHead: model.head')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.vmf = VMFClassifier(in_channels, num_classes, kappa_init=kappa_init, use_prior=use_prior,
                                 op_fallback=op_fallback)
        if class_counts is not None:
            self.vmf.set_class_counts(load_class_counts(class_counts))

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """(N, d) pooled features -> (N, C) logits (training or test form, by the module mode; calibration, if any,
        is set by ``VMFCalibrationHook`` or baked into a checkpoint by ``tools/vmf/calibrate.py``)."""
        return self.vmf(self.pre_logits(feats))

    def loss(self, feats: tuple[torch.Tensor, ...], data_samples: list[DataSample], **kwargs) -> dict:
        """CE on the training logits + lambda_e (ICD [+ CFC]); also logs lambda_e and the mean kappa."""
        x = self.pre_logits(feats)
        logits = self.vmf(x)
        losses = self._get_loss(logits, data_samples, **kwargs)
        if self.use_icd or self.use_cfc:
            weight = current_aux_weight(self.aux_loss_base, self.aux_loss_power, self.aux_loss_schedule,
                                        type(self).__name__)
            if self.use_icd:
                losses['loss_icd'] = weight * self.vmf.icd_loss()
            if self.use_cfc:
                if 'gt_score' in data_samples[0] and 'gt_label' not in data_samples[0]:
                    raise ValueError('VMFClsHead: the CFC loss needs hard labels (gt_label); batch augmentations '
                                     '(mixup / cutmix) give soft scores only')
                labels = torch.cat([s.gt_label for s in data_samples]).to(x.device)
                losses['loss_cfc'] = weight * self.vmf.cfc_loss(x, labels)
            losses['aux_weight'] = x.new_tensor(weight)
        losses['kappa_mean'] = self.vmf.kappa.detach().mean()
        return losses

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        weight = state_dict.get(prefix + 'vmf.weight')
        if weight is not None and tuple(weight.shape) != (self.num_classes, self.in_channels):
            raise ValueError(f'VMFClsHead: the checkpoint holds {prefix}vmf.weight of shape {tuple(weight.shape)} but '
                             f'the config has num_classes={self.num_classes}, in_channels={self.in_channels} '
                             '(model.head.num_classes / in_channels)')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
