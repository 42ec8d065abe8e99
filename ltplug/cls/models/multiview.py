"""Several augmented views per training image with one label, for supervised training (vMF-OP's ``img_num: 2``).

mmpretrain's ``MultiView`` transform already returns V crops per image and ``PackInputs`` packs them as a list; its
``SelfSupDataPreprocessor`` handles such lists but drops the labels' pairing. :class:`MultiCropClsDataPreprocessor` is
the one missing piece for a plain ``ImageClassifier``: it normalises every view like ``ClsDataPreprocessor``,
interleaves them into one batch of V * B images (image 0 view 0, image 0 view 1, image 1 view 0, ...: the order of the
official ``reshape(B * V, ...)``) and repeats each data sample V times, so any classifier / head trains on V * B
labelled crops unchanged. Single-view batches (validation and test) pass through exactly as ``ClsDataPreprocessor``
would. (BCL's ``MultiViewClsDataPreprocessor`` in
``ltplug/cls/models/bcl.py`` keeps the views apart for ``BCLClassifier`` instead.)

Pipeline: ``dict(type='MultiView', num_views=2, transforms=[[...augmentations...]])`` followed by ``PackInputs``.
"""
from __future__ import annotations

import torch
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS


def _views(inputs) -> list | None:
    """The per-view batches if ``inputs`` holds several views, else None.

    mmengine's pseudo_collate transposes the per-sample lists of V views into a list (views) of tuples (B images);
    default_collate gives a list (views) of (B, C, H, W) tensors. A single view is a (B, C, H, W) tensor or a list of
    (C, H, W) tensors.
    """
    if isinstance(inputs, (list, tuple)) and inputs:
        first = inputs[0]
        if isinstance(first, (list, tuple)):
            if any(not isinstance(v, (list, tuple)) or len(v) != len(first) for v in inputs):
                raise ValueError('MultiCropClsDataPreprocessor: every view must hold the same number of images; '
                                 'check the MultiView pipeline')
            return [list(v) for v in inputs]
        if isinstance(first, torch.Tensor) and first.dim() == 4:
            return list(inputs)
    return None


@MODELS.register_module()
class MultiCropClsDataPreprocessor(ClsDataPreprocessor):
    """``ClsDataPreprocessor`` that turns V views of B images into V * B labelled samples (labels repeated).

    Args:
        num_views: expected number of views in training batches (None: accept any); a mismatch is an error naming
            the pipeline's ``MultiView(num_views=...)``.
        Other arguments: those of mmpretrain's ``ClsDataPreprocessor`` (batch augmentations are not supported with
        several views).
    """

    def __init__(self, *args, num_views: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if num_views is not None and (isinstance(num_views, bool) or not isinstance(num_views, int) or num_views < 1):
            raise ValueError(f'MultiCropClsDataPreprocessor: num_views must be a positive integer, got {num_views!r}')
        self.num_views = num_views

    def forward(self, data: dict, training: bool = False) -> dict:
        views = _views(data['inputs'])
        if views is None:
            return super().forward(data, training)
        if self.batch_augments is not None:
            raise ValueError('MultiCropClsDataPreprocessor: batch_augments (mixup / cutmix) are not supported with '
                             'multi-view inputs; remove model.data_preprocessor.batch_augments')
        num_views = len(views)
        if self.num_views is not None and num_views != self.num_views:
            raise ValueError(f'MultiCropClsDataPreprocessor: got {num_views} views per image but num_views='
                             f'{self.num_views}; check MultiView(num_views=...) in the train pipeline')
        data_samples = data.get('data_samples', None)
        first = super().forward({'inputs': views[0], 'data_samples': data_samples}, training)
        batches = [first['inputs']] + [super(MultiCropClsDataPreprocessor, self).forward({'inputs': v}, training)
                                       ['inputs'] for v in views[1:]]
        shapes = {tuple(b.shape) for b in batches}
        if len(shapes) != 1:
            raise ValueError(f'MultiCropClsDataPreprocessor: the views have different shapes {sorted(shapes)}; every '
                             'view must be cropped to the same size')
        b = batches[0].shape[0]
        inputs = torch.stack(batches, dim=1).reshape(b * num_views, *batches[0].shape[1:])
        samples = first['data_samples']
        if samples is not None:
            samples = [s for s in samples for _ in range(num_views)]
        return {'inputs': inputs, 'data_samples': samples}
