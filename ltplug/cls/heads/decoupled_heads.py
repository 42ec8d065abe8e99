"""Decoupled classifiers (Kang et al., ICLR 2020) as mmpretrain heads: tau-normalised, LWS and NCM.

The joint and cRT classifier is mmpretrain's own ``LinearClsHead`` (an ``nn.Linear`` with bias). ``TauNormClsHead`` and
``LWSClsHead`` subclass it and keep its state-dict keys (``fc.weight`` / ``fc.bias``), so a stage-1 checkpoint loads
into them unchanged; a checkpoint whose classifier has another shape fails with an error naming ``num_classes`` /
``in_channels``. The maths is in :mod:`ltplug.core.decoupled`.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead, LinearClsHead
from mmpretrain.registry import MODELS

from ltplug.core.decoupled import DIST_TYPES, FEAT_TYPES, lws_logits, ncm_centroids, ncm_scores, tau_norm_logits
from ltplug.utils import check_checkpoint_shapes


class _FCCheckpointMixin:
    """Shape check of ``fc.weight`` / ``fc.bias`` when a (stage-1 LinearClsHead) checkpoint is loaded."""

    def _check_fc(self, state_dict: dict, prefix: str) -> None:
        check_checkpoint_shapes(
            self, state_dict, prefix,
            {'fc.weight': (self.num_classes, self.in_channels), 'fc.bias': (self.num_classes,)},
            f'model.head.num_classes={self.num_classes}, in_channels={self.in_channels}')


@MODELS.register_module()
class TauNormClsHead(_FCCheckpointMixin, LinearClsHead):
    """tau-normalised linear classifier: logits ``x . w_c / ||w_c||^tau``, the bias of the joint classifier dropped.

    A post-hoc re-balancing of a jointly trained ``LinearClsHead`` (load its checkpoint as is; ``fc.bias`` is kept in
    the state dict for compatibility but unused). ``tau`` is picked on the validation split by
    ``tools/decoupling/tau_sweep.py`` (0..2, step 0.1); ``tau=0`` is the joint classifier without bias.

    Args:
        num_classes, in_channels: as for ``LinearClsHead``.
        tau: the normalisation power (>= 0).
    """

    def __init__(self, num_classes: int, in_channels: int, tau: float = 1.0, **kwargs) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, **kwargs)
        tau = float(tau)
        if not tau >= 0:
            raise ValueError(f'TauNormClsHead: tau must be >= 0 (model.head.tau), got {tau}')
        self.tau = tau

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return tau_norm_logits(self.pre_logits(feats), self.fc.weight, self.tau)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        self._check_fc(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return f'tau={self.tau}'


@MODELS.register_module()
class LWSClsHead(_FCCheckpointMixin, LinearClsHead):
    """Learnable weight scaling: logits ``f_c * (w_c . x + b_c)`` with W, b frozen and only f (``scales``) trained.

    ``fc`` (the stage-1 joint classifier, loaded from ``load_from``) never gets gradients; ``scales`` starts at 1 and
    is subject to the optimizer's weight decay like any parameter (as officially). Loading a stage-1 checkpoint that has
    no ``scales`` keeps them at 1 without a missing-key warning.
    """

    def __init__(self, num_classes: int, in_channels: int, **kwargs) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, **kwargs)
        self.scales = nn.Parameter(torch.ones(num_classes))
        self.fc.requires_grad_(False)

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return lws_logits(self.pre_logits(feats), self.fc.weight, self.fc.bias, self.scales)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        self._check_fc(state_dict, prefix)
        check_checkpoint_shapes(self, state_dict, prefix, {'scales': (self.num_classes,)},
                                f'model.head.num_classes={self.num_classes}')
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        key = prefix + 'scales'
        if key not in state_dict and prefix + 'fc.weight' in state_dict and key in missing_keys:
            missing_keys.remove(key)  # a stage-1 (joint) checkpoint: the scales keep their initial value 1


@MODELS.register_module()
class NCMClsHead(ClsHead):
    """Nearest class mean classifier on the (frozen) stage-1 features; nothing is trained.

    The centroids are persistent buffers fitted from the training set's features (extracted with the test
    transforms) by ``tools/decoupling/fit_ncm.py`` or :meth:`fit`; the overall training mean needed by ``cl2n`` is
    stored too, so a checkpoint alone reproduces the predictions. ``fitted`` records the feature type the centroids
    were fitted with (index into ``('un', 'l2n', 'cl2n')``, -1 before fitting): a checkpoint fitted with another
    ``feat_type`` than the config's is refused.

    Args:
        num_classes, in_channels: number of classes, feature dimension (the neck's output).
        feat_type: ``'un'`` raw features, ``'l2n'`` L2-normalised, ``'cl2n'`` centred by the training mean then
            L2-normalised (official default). Centroids are not re-normalised; the query gets the same transform.
        dist_type: ``'l2'`` (score ``-||q - c||^2``, official default) or ``'cos'`` (``q . c / d``).
    """

    def __init__(self, num_classes: int, in_channels: int, feat_type: str = 'cl2n', dist_type: str = 'l2',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if feat_type not in FEAT_TYPES:
            raise ValueError(f'NCMClsHead: model.head.feat_type must be one of {FEAT_TYPES}, got {feat_type!r}')
        if dist_type not in DIST_TYPES:
            raise ValueError(f'NCMClsHead: model.head.dist_type must be one of {DIST_TYPES}, got {dist_type!r}')
        if num_classes <= 0 or in_channels <= 0:
            raise ValueError(f'NCMClsHead: num_classes and in_channels must be > 0, got {num_classes}, {in_channels}')
        self.num_classes = int(num_classes)
        self.in_channels = int(in_channels)
        self.feat_type = feat_type
        self.dist_type = dist_type
        self.register_buffer('centroids', torch.zeros(num_classes, in_channels))
        self.register_buffer('feat_mean', torch.zeros(in_channels))
        self.register_buffer('fitted', torch.full((), -1, dtype=torch.long))

    @torch.no_grad()
    def fit(self, feats: torch.Tensor, labels: torch.Tensor) -> None:
        """Set the centroids (and training mean) from training features (N, in_channels) and their labels (N,)."""
        if feats.dim() != 2 or feats.shape[1] != self.in_channels:
            raise ValueError(f'NCMClsHead.fit: expected features of shape (N, {self.in_channels}) (model.head.'
                             f'in_channels), got {tuple(feats.shape)}')
        centroids, mean = ncm_centroids(feats.to(self.centroids), labels, self.num_classes, self.feat_type)
        self.centroids.copy_(centroids)
        self.feat_mean.copy_(mean)
        self.fitted.fill_(FEAT_TYPES.index(self.feat_type))

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if int(self.fitted) < 0:
            raise RuntimeError('NCMClsHead has no fitted centroids: load a checkpoint written by '
                               'tools/decoupling/fit_ncm.py (or call head.fit(train_feats, train_labels))')
        x = self.pre_logits(feats)
        return ncm_scores(x, self.centroids.to(x.dtype), self.feat_type, self.dist_type, self.feat_mean.to(x.dtype))

    def loss(self, feats, data_samples, **kwargs) -> dict:
        raise RuntimeError('NCMClsHead is fitted, not trained: run tools/decoupling/fit_ncm.py on a stage-1 '
                           'checkpoint and test the config it writes')

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        check_checkpoint_shapes(self, state_dict, prefix,
                                {'centroids': (self.num_classes, self.in_channels), 'feat_mean': (self.in_channels,)},
                                f'model.head.num_classes={self.num_classes}, in_channels={self.in_channels}')
        fitted = state_dict.get(prefix + 'fitted')
        if fitted is not None and 0 <= int(fitted) < len(FEAT_TYPES) and FEAT_TYPES[int(fitted)] != self.feat_type:
            raise ValueError(f'NCMClsHead: the checkpoint\'s centroids were fitted with feat_type='
                             f'{FEAT_TYPES[int(fitted)]!r} but model.head.feat_type={self.feat_type!r}; set it to '
                             f'{FEAT_TYPES[int(fitted)]!r} or re-fit with tools/decoupling/fit_ncm.py')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return f'num_classes={self.num_classes}, in_channels={self.in_channels}, feat_type={self.feat_type!r}, ' \
               f'dist_type={self.dist_type!r}'
