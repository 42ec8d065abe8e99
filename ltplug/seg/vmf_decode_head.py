"""Per-pixel vMF classifier for any mmseg decode head (vMF-OP, Wang et al., ECCV 2022; docs/methods.md §1.8).

No official segmentation code was ever released, so everything in this module is our own design (documented in
``configs/vmf_ade20k/README.md``):

* **How it plugs in** (as for the cls and det heads: the head owns a :class:`~ltplug.core.vmf.VMFClassifier` built by
  :mod:`ltplug.vmf_adapter` and adds its auxiliary losses to the stock loss). Every stock decode head (``FCNHead``,
  ``DepthwiseSeparableASPPHead`` of DeepLabV3+, ``UPerHead``, ...) classifies pixels with ``BaseDecodeHead.cls_seg``:
  dropout, then the 1x1 ``conv_seg``. ``VMFDecodeHead`` builds the stock head named by ``head_type`` with all its
  usual arguments as its child ``head``, replaces only its ``conv_seg`` by :class:`VMFPixelClassifier`, and forwards
  ``forward`` / ``predict`` / ``loss`` (adding the auxiliary losses) and the attributes ``EncoderDecoder`` reads. A
  config changes one key: ``decode_head=dict(type='VMFDecodeHead', head_type='UPerHead', ...)`` on top of the stock
  head config; the stock head's state-dict keys get the prefix ``head.``.
* **Pixel embedding.** The input of ``conv_seg`` (after the head's dropout) is the pixel embedding; it is L2-normalised
  per pixel inside the classifier. Logits are computed at the decoder resolution and bilinearly upsampled by the stock
  ``loss_by_feat`` / ``predict_by_feat``; the per-class terms (b_c, log n_c) are constant over space, so they commute
  with the upsampling.
* **Prior.** n_c is the number of *training pixels* of class c (ignore index excluded), set by ``SegPixelCountsHook``
  or ``class_counts=``. log n_c is added to the training logits only.
* **Auxiliary losses.** ICD on the class weights and kappa, optionally CFC on the pixel embeddings (with labels
  nearest-downsampled to the embedding resolution, ignored pixels dropped).
* **Auxiliary head.** Untouched (stock ``FCNHead`` with a linear ``conv_seg``): deep supervision only, unused at test.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

from ltplug.core.vmf import VMFClassifier
from ltplug.vmf_adapter import build_vmf_classifier, drop_init_override, pop_vmf_args, vmf_aux_losses

WHERE = 'VMFDecodeHead: model.decode_head'


class VMFPixelClassifier(VMFClassifier):
    """A :class:`~ltplug.core.vmf.VMFClassifier` for channel-first maps: (N, d, H, W) embeddings -> (N, C, H, W) logits.

    Drop-in for a decode head's 1x1 ``conv_seg``; every buffer (counts, b, op, calibration) and the calibration hook
    work as for the classification head.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.movedim(1, -1)).movedim(-1, 1).contiguous()


@MODELS.register_module()
class VMFDecodeHead(BaseModule):
    """The stock mmseg decode head ``head_type`` with a per-pixel vMF classifier in place of ``conv_seg``.

    Args:
        head_type: a registered mmseg decode head, e.g. 'UPerHead', 'DepthwiseSeparableASPPHead', 'FCNHead'.
        **kwargs: the vMF arguments of every vMF head (see :data:`ltplug.vmf_adapter.VMF_HEAD_DEFAULTS`), then the
            stock head's arguments (``in_channels``, ``channels``, ``num_classes``, ``init_cfg``, ...).
    """

    def __init__(self, head_type: str, **kwargs) -> None:
        vmf_args = pop_vmf_args(kwargs)
        super().__init__()
        stock = MODELS.get(head_type) if isinstance(head_type, str) else None
        if not (isinstance(stock, type) and issubclass(stock, BaseDecodeHead)):
            raise ValueError(f"{WHERE}.head_type={head_type!r} is not a registered mmseg decode head (e.g. 'UPerHead', "
                             "'DepthwiseSeparableASPPHead', 'FCNHead')")
        self.head = stock(**kwargs)
        if self.head.out_channels != self.head.num_classes:
            raise ValueError(f'{WHERE}: the vMF classifier needs one logit per class; out_channels='
                             f'{self.head.out_channels} with num_classes={self.head.num_classes} (binary mode) is not '
                             'supported')
        self.head.conv_seg, self.aux_schedule = build_vmf_classifier(
            WHERE, self.head.channels, self.head.num_classes, classifier_type=VMFPixelClassifier, in_key='channels',
            **vmf_args)
        self.head.init_cfg = drop_init_override(self.head.init_cfg, 'conv_seg')

    # the attributes and methods mmseg's EncoderDecoder uses
    align_corners = property(lambda self: self.head.align_corners)
    num_classes = property(lambda self: self.head.num_classes)
    out_channels = property(lambda self: self.head.out_channels)
    ignore_index = property(lambda self: self.head.ignore_index)
    threshold = property(lambda self: self.head.threshold)

    @property
    def vmf(self) -> VMFPixelClassifier:
        return self.head.conv_seg

    def forward(self, inputs) -> torch.Tensor:
        return self.head(inputs)

    def predict(self, inputs, batch_img_metas: list[dict], test_cfg) -> torch.Tensor:
        return self.head.predict(inputs, batch_img_metas, test_cfg)

    def loss(self, inputs, batch_data_samples, train_cfg) -> dict:
        """Stock decode loss (CE on the training logits) + lambda (ICD [+ CFC]); logs lambda and the mean kappa."""
        losses = self.head.loss(inputs, batch_data_samples, train_cfg)
        labels = None
        if self.vmf.use_cfc:  # the ground truth at the embedding resolution (N, h, w), like the kept features
            feats = self.vmf.last_features
            labels = self.head._stack_batch_gt(batch_data_samples).to(feats.device)
            labels = F.interpolate(labels.float(), size=feats.shape[1:3], mode='nearest').long().squeeze(1)
        losses.update(vmf_aux_losses(self.vmf, self.aux_schedule, labels=labels, ignore_index=self.ignore_index))
        return losses
