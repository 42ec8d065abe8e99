"""mmpretrain head for the vMF classifier of vMF-OP (Wang et al., ECCV 2022); the maths is in :mod:`ltplug.core.vmf`.

Loss = CE(s, y) + lambda (ICD [+ CFC]) with s the training logits (kappa cos + b + log n_c) and lambda from
:mod:`ltplug.vmf_adapter` (the same arguments, defaults, schedule and log keys as the seg and det heads).
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

from ltplug.utils import check_checkpoint_shapes
from ltplug.vmf_adapter import build_vmf_classifier, pop_vmf_args, vmf_aux_losses

WHERE = 'VMFClsHead: model.head'


@MODELS.register_module()
class VMFClsHead(ClsHead):
    """vMF classifier head with the ICD / CFC auxiliary losses and zero-cost post-training calibration.

    Args:
        num_classes: C. in_channels: d, the pooled feature dimension (keep the backbone's final ReLU).
        loss: classification loss on the logits (plain softmax CE, as officially).
        **kwargs: the vMF arguments of every vMF head (``kappa_init``, ``use_prior``, ``class_counts``, ``aux_loss``,
            ``aux_loss_weight``, ``aux_loss_power``, ``aux_loss_schedule``, ``op_fallback``; see
            :data:`ltplug.vmf_adapter.VMF_HEAD_DEFAULTS`), then ``ClsHead``'s (``topk``, ``cal_acc``, ``init_cfg``).
    """

    def __init__(self, num_classes: int, in_channels: int, loss: dict | None = None, **kwargs) -> None:
        vmf_args = pop_vmf_args(kwargs)
        super().__init__(loss=loss or dict(type='CrossEntropyLoss', loss_weight=1.0), **kwargs)
        self.vmf, self.aux_schedule = build_vmf_classifier(WHERE, in_channels, num_classes, **vmf_args)
        self.num_classes = num_classes
        self.in_channels = in_channels

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """(N, d) pooled features -> (N, C) logits (training or test form, by the module mode; calibration, if any,
        is set by ``VMFCalibrationHook`` or baked into a checkpoint by ``tools/vmf/calibrate.py``)."""
        return self.vmf(self.pre_logits(feats))

    def loss(self, feats: tuple[torch.Tensor, ...], data_samples: list[DataSample], **kwargs) -> dict:
        """CE on the training logits + lambda (ICD [+ CFC]); also logs lambda and the mean kappa."""
        x = self.pre_logits(feats)
        losses = self._get_loss(self.vmf(x), data_samples, **kwargs)
        labels = None
        if self.vmf.use_cfc:
            if 'gt_label' not in data_samples[0]:
                raise ValueError(f'{WHERE}.aux_loss: the CFC loss needs hard labels (gt_label); batch augmentations '
                                 '(mixup / cutmix) give soft scores only')
            labels = torch.cat([s.gt_label for s in data_samples]).to(x.device)
        losses.update(vmf_aux_losses(self.vmf, self.aux_schedule, x, labels))
        return losses

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        check_checkpoint_shapes(self, state_dict, prefix, {'vmf.weight': (self.num_classes, self.in_channels)},
                                f'model.head.num_classes={self.num_classes}, in_channels={self.in_channels}')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
