"""Several augmented views per training image with one label, for supervised training (vMF-OP's ``img_num: 2``).

mmpretrain's ``MultiView`` transform already returns V crops per image and ``PackInputs`` packs them as a list; its
``SelfSupDataPreprocessor`` handles such lists but drops the labels' pairing. :class:`MultiCropClsDataPreprocessor` is
the one missing piece for a plain ``ImageClassifier``: it normalises every view like ``ClsDataPreprocessor``,
interleaves them into one batch of V * B images (image 0 view 0, image 0 view 1, image 1 view 0, ...: the order of the
official ``reshape(B * V, ...)``) and repeats each data sample V times, so any classifier / head trains on V * B
labelled crops unchanged. Single-view batches (validation and test) pass through exactly as ``ClsDataPreprocessor``
would. (BCL's ``BCLDataPreprocessor`` in ``ltplug/cls/models/bcl.py`` normalises the views the same way but keeps them
apart, as a list, for ``BCLClassifier``.)

Pipeline: ``dict(type='MultiView', num_views=2, transforms=[[...augmentations...]])`` followed by ``PackInputs``.
"""
from __future__ import annotations

import torch
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS


def split_views(inputs, where: str) -> list | None:
    """The per-view batches if ``inputs`` holds several views, else None.

    mmengine's pseudo_collate transposes the per-sample lists of V views into a list (views) of tuples (B images);
    default_collate gives a list (views) of (B, C, H, W) tensors. A single view is a (B, C, H, W) tensor or a list of
    (C, H, W) tensors. ``where`` names the data preprocessor in errors.
    """
    if isinstance(inputs, (list, tuple)) and inputs:
        first = inputs[0]
        if isinstance(first, (list, tuple)):
            if any(not isinstance(v, (list, tuple)) or len(v) != len(first) for v in inputs):
                raise ValueError(f'{where}: every view must hold the same number of images; check the MultiView '
                                 'pipeline')
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

    def normalise_views(self, data: dict, training: bool) -> tuple[list[torch.Tensor], list | None] | None:
        """(the V normalised (B, C, H, W) view batches, the B data samples processed once) of a multi-view batch,
        or None for a single-view batch."""
        where = type(self).__name__
        views = split_views(data['inputs'], where)
        if views is None:
            return None
        if self.batch_augments is not None and training:
            raise ValueError(f'{where}: batch augmentations (model.data_preprocessor.batch_augments, mixup / cutmix) '
                             'are not supported with multi-view inputs')
        if self.num_views is not None and len(views) != self.num_views:
            raise ValueError(f'{where}: got {len(views)} views per image but num_views={self.num_views}; check '
                             'MultiView(num_views=...) in the train pipeline')
        first = ClsDataPreprocessor.forward(self, {'inputs': views[0], 'data_samples': data.get('data_samples')},
                                            training)
        batches = [first['inputs']] + [ClsDataPreprocessor.forward(self, {'inputs': v}, training)['inputs']
                                       for v in views[1:]]
        shapes = {tuple(b.shape) for b in batches}
        if len(shapes) != 1:
            raise ValueError(f'{where}: the views have different shapes {sorted(shapes)}; every view must be cropped '
                             'to the same size')
        return batches, first['data_samples']

    def forward(self, data: dict, training: bool = False) -> dict:
        views = self.normalise_views(data, training)
        if views is None:
            return super().forward(data, training)
        batches, samples = views
        b, num_views = batches[0].shape[0], len(batches)
        inputs = torch.stack(batches, dim=1).reshape(b * num_views, *batches[0].shape[1:])
        if samples is not None:
            samples = [s for s in samples for _ in range(num_views)]
        return {'inputs': inputs, 'data_samples': samples}
