"""``SyncEQLV2Loss``: mmdet's ``EQLV2Loss`` (Tan et al., CVPR 2021) made correct under DDP and wired into the bbox head.

mmdet 3.3's port of EQLv2 sums the positive / negative gradient statistics of each class over the ranks only
when built with ``use_distributed=True`` (default False); the official implementation (tztztztztz/eqlv2,
``mmdet/models/losses/eqlv2.py``, ``collect_grad``) always sums them with ``dist.all_reduce``. mmengine wraps models
with ``broadcast_buffers=False``, so with the default every rank re-weights with its own statistics. This subclass
all-reduces the per-step statistics whenever a process group with more than one rank exists, so every rank holds
the statistics of the whole global batch, as the official code. It also declares the hooks mmdet's ``BBoxHead``
looks for, so that test-time scores are the
loss's sigmoid activation (foreground scores times 1 - background score, ``get_activation``) rather than a softmax over
sigmoid-trained logits, with C + 1 output channels (the last one the background / objectness channel, as in the port).
The loss value and the gradient statistics are otherwise the port's own code (docs/methods.md §8.5).
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from mmdet.models.losses import accuracy
from mmdet.registry import MODELS

try:
    from mmdet.models.losses import EQLV2Loss
except ImportError:  # an mmdet without the port: the config names the missing piece when it is built
    EQLV2Loss = None


def _world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


if EQLV2Loss is not None:

    @MODELS.register_module()
    class SyncEQLV2Loss(EQLV2Loss):
        """``EQLV2Loss`` with the gradient statistics summed over all DDP ranks (official behaviour).

        Arguments: those of mmdet's ``EQLV2Loss`` (``num_classes`` = the number of foreground classes).
        """

        custom_cls_channels = True
        custom_activation = True
        custom_accuracy = True

        def get_cls_channels(self, num_classes: int) -> int:
            """C foreground channels + the background (objectness) channel."""
            if num_classes != self.num_classes:
                raise ValueError(f'SyncEQLV2Loss: num_classes={self.num_classes} (loss_cls.num_classes) but the bbox '
                                 f'head has num_classes={num_classes}; set both to the number of categories')
            return num_classes + 1

        def get_accuracy(self, cls_score: torch.Tensor, labels: torch.Tensor) -> dict:
            """Top-1 accuracy over the C + 1 channels (the sigmoid is monotone: argmax of the logits)."""
            return dict(acc=accuracy(cls_score, labels))

        def collect_grad(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> None:
            """Accumulate |d loss / d logit| of positives and negatives per class, summed over all ranks."""
            grad = torch.abs(target * (torch.sigmoid(pred) - 1) + (1 - target) * torch.sigmoid(pred))
            pos_grad = torch.sum(grad * target * weight, dim=0)[:-1]  # the background channel is not collected
            neg_grad = torch.sum(grad * (1 - target) * weight, dim=0)[:-1]
            if _world_size() > 1:
                dist.all_reduce(pos_grad)
                dist.all_reduce(neg_grad)
            self.pos_grad += pos_grad
            self.neg_grad += neg_grad
            self.pos_neg = self.pos_grad / (self.neg_grad + 1e-10)
