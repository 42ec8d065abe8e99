"""Per-pixel vMF classifier for any mmseg decode head (vMF-OP, Wang et al., ECCV 2022; METHODS.md §1.8).

No official segmentation code was ever released, so everything in this module is our own design (documented in
``configs/vmf_ade20k/README.md``):

* **How it plugs in.** Every stock decode head (``FCNHead``, ``DepthwiseSeparableASPPHead`` of DeepLabV3+, ``UPerHead``,
  ...) classifies pixels with ``BaseDecodeHead.cls_seg``: dropout, then the 1x1 ``conv_seg``. ``VMFDecodeHead`` builds
  the stock head named by ``head_type`` with all its usual arguments and replaces only ``conv_seg`` by
  :class:`VMFPixelClassifier` (a :class:`~ltplug.core.vmf.VMFClassifier` applied along the channel dimension). A config
  changes one key: ``decode_head=dict(type='VMFDecodeHead', head_type='UPerHead', ...)`` on top of the stock head
  config. The head keeps its class, module tree and every method except ``loss`` (which adds the auxiliary losses), so
  ``EncoderDecoder``, slide inference, TTA and the visualiser work unchanged, and a stock checkpoint loads into
  everything but the classifier.
* **Pixel embedding.** The input of ``conv_seg`` (after the head's dropout) is the pixel embedding; it is L2-normalised
  per pixel inside the classifier. Logits are computed at the decoder resolution and bilinearly upsampled by the stock
  ``loss_by_feat`` / ``predict_by_feat``; the per-class terms (b_c, log n_c) are constant over space, so they commute
  with the upsampling.
* **Prior.** n_c is the number of *training pixels* of class c (ignore index excluded), set by ``SegPixelCountsHook``
  (``ltplug.seg.pixel_counts``) or ``class_counts=``. log n_c is added to the training logits only.
* **Auxiliary losses.** ICD on the class weights and kappa (default), optionally CFC on the pixel embeddings (with
  labels nearest-downsampled to the embedding resolution). Weight lambda = 0.2 (1 - t/T)^0.9 where t/T is iter/max_iters
  by default (``aux_loss_schedule='iter'``: mmseg schedules are iteration based, and ``IterBasedTrainLoop`` reports a
  single epoch), or epoch/max_epochs (``'epoch'``, the official per-epoch constant).
* **Auxiliary head.** Untouched (stock ``FCNHead`` with a linear ``conv_seg``): it is deep supervision only and is not
  used at test time. Wrap it with ``VMFDecodeHead`` too if wanted.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

from ltplug.core.vmf import VMFClassifier
from ltplug.engine.class_counts import load_class_counts
from ltplug.engine.vmf_schedule import configure_aux_losses, current_aux_weight, drop_init_override


class VMFPixelClassifier(VMFClassifier):
    """A :class:`~ltplug.core.vmf.VMFClassifier` for channel-first maps: (N, d, H, W) embeddings -> (N, C, H, W) logits.

    Drop-in for a decode head's 1x1 ``conv_seg``; every buffer (counts, b, op, calibration) and the calibration hook
    work as for the classification head.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2:
            raise ValueError(f'{type(self).__name__}: expected (N, d, ...) pixel embeddings, got {tuple(x.shape)}')
        return super().forward(x.movedim(1, -1)).movedim(-1, 1).contiguous()


class VMFDecodeHeadMixin:
    """Turns a stock ``BaseDecodeHead`` subclass into a vMF decode head (see the module docstring).

    Extra args (everything else goes to the stock head):
        kappa_init: initial per-class concentration (16: the appendix's ADE20K setting).
        use_prior: add log n_c (training pixel counts) to the training logits.
        class_counts: per-class training pixel counts (list or class-count file); default: ``SegPixelCountsHook``.
        aux_loss: 'icd' (default), 'none', 'cfc' or 'icd+cfc'.
        aux_loss_weight / aux_loss_power: lambda = aux_loss_weight (1 - t/T)^aux_loss_power (0.2 / 0.9 officially).
        aux_loss_schedule: 'iter' (default) or 'epoch': what t/T is.
        op_fallback: calibration statistic without ICD ('bias', official, or 'overlap').
    """

    def __init__(self, *args, kappa_init: float = 16.0, use_prior: bool = True, class_counts=None,
                 aux_loss: str | list[str] = 'icd', aux_loss_weight: float = 0.2, aux_loss_power: float = 0.9,
                 aux_loss_schedule: str = 'iter', op_fallback: str = 'bias', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        where = f'{type(self).__name__} (model.decode_head)'
        if self.out_channels != self.num_classes:
            raise ValueError(f'{where}: the vMF classifier needs one logit per class; out_channels={self.out_channels} '
                             f'with num_classes={self.num_classes} (binary out_channels=1 mode) is not supported')
        configure_aux_losses(self, aux_loss, aux_loss_weight, aux_loss_power, aux_loss_schedule,
                             f'{type(self).__name__}: model.decode_head')
        self.conv_seg = VMFPixelClassifier(self.channels, self.num_classes, kappa_init=kappa_init,
                                           use_prior=use_prior, op_fallback=op_fallback)
        if class_counts is not None:
            self.conv_seg.set_class_counts(load_class_counts(class_counts))
        self.init_cfg = drop_init_override(self.init_cfg, 'conv_seg')
        self._cfc_feat: torch.Tensor | None = None

    def cls_seg(self, feat: torch.Tensor) -> torch.Tensor:
        """Dropout + vMF classifier (the stock order); keeps the embedding for the CFC loss when it is on."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        if self.training and self.use_cfc:
            self._cfc_feat = feat
        return self.conv_seg(feat)

    def loss(self, inputs, batch_data_samples, train_cfg) -> dict:
        """Stock decode loss (CE on the training logits) + lambda (ICD [+ CFC]); logs lambda and the mean kappa."""
        losses = super().loss(inputs, batch_data_samples, train_cfg)
        feat, self._cfc_feat = self._cfc_feat, None
        ref = next(iter(losses.values()))
        if self.use_icd or self.use_cfc:
            weight = current_aux_weight(self.aux_loss_base, self.aux_loss_power, self.aux_loss_schedule,
                                        f'{type(self).__name__} (model.decode_head)')
            if self.use_icd:
                losses['loss_icd'] = weight * self.conv_seg.icd_loss().to(ref.dtype)
            if self.use_cfc:
                labels = self._stack_batch_gt(batch_data_samples).to(feat.device)
                labels = F.interpolate(labels.float(), size=feat.shape[2:], mode='nearest').long().squeeze(1)
                losses['loss_cfc'] = weight * self.conv_seg.cfc_loss(feat.movedim(1, -1), labels,
                                                                     ignore_index=self.ignore_index).to(ref.dtype)
            losses['icd_weight'] = ref.new_tensor(weight)
        losses['kappa_mean'] = self.conv_seg.kappa.detach().mean().to(ref.dtype)
        return losses


_HEAD_CLASSES: dict[type, type] = {}


def vmf_head_class(base: type) -> type:
    """The (cached) class ``VMF<base>`` = VMFDecodeHeadMixin + ``base``; defined at module level so pickling works."""
    if not (isinstance(base, type) and issubclass(base, BaseDecodeHead)):
        raise ValueError(f'VMFDecodeHead: head_type must name an mmseg decode head (a BaseDecodeHead subclass), '
                         f'got {base!r}')
    if issubclass(base, VMFDecodeHeadMixin):
        return base
    cls = _HEAD_CLASSES.get(base)
    if cls is None:
        name = f'VMF{base.__name__}'
        cls = type(name, (VMFDecodeHeadMixin, base), {
            '__module__': __name__, '__qualname__': name,
            '__doc__': f'``{base.__name__}`` with its ``conv_seg`` replaced by a per-pixel vMF classifier '
                       '(built by ``VMFDecodeHead``).'})
        _HEAD_CLASSES[base] = cls
        globals()[name] = cls
    return cls


@MODELS.register_module(name='VMFDecodeHead')
def build_vmf_decode_head(head_type: str | type, **kwargs) -> BaseDecodeHead:
    """Build the stock mmseg decode head ``head_type`` (e.g. 'UPerHead', 'DepthwiseSeparableASPPHead', 'FCNHead') with a
    per-pixel vMF classifier in place of ``conv_seg``; ``kwargs`` are the stock head's arguments plus the vMF ones of
    :class:`VMFDecodeHeadMixin`."""
    if isinstance(head_type, str):
        base = MODELS.get(head_type)
        if base is None:
            raise ValueError(f"VMFDecodeHead: model.decode_head.head_type={head_type!r} is not a registered mmseg "
                             "model (e.g. 'UPerHead', 'DepthwiseSeparableASPPHead', 'FCNHead')")
    else:
        base = head_type
    return vmf_head_class(base)(**kwargs)
