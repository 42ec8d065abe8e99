"""The CIFAR ResNet-(6n+2) of He et al. (ResNet-32 for CIFAR-LT papers): 16/32/64 channels, option-A shortcuts."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


class _BasicBlock(nn.Module):
    """3x3-3x3 residual block; the downsampling shortcut subsamples and zero-pads channels (option A, no parameters)."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride = stride
        self.pad = planes - in_planes

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and self.pad == 0:
            return x
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


@MODELS.register_module()
class CifarResNet(BaseModule):
    """ResNet-(6n+2) for small images (depth 32 -> 5 blocks per stage); returns the stage outputs in ``out_indices``.

    The final ReLU is kept (the feature the LT papers pool). Kaiming-normal conv init as in the LDAM/BCL code family.
    """

    def __init__(self, depth: int = 32, in_channels: int = 3, base_channels: int = 16,
                 out_indices: tuple[int, ...] = (2,), init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f'CifarResNet depth must be 6n+2 (8, 14, 20, 32, 44, 56, 110), got {depth}')
        n = (depth - 2) // 6
        widths = (base_channels, base_channels * 2, base_channels * 4)
        if any(i not in (0, 1, 2) for i in out_indices):
            raise ValueError(f'out_indices must be within (0, 1, 2), got {out_indices}')
        self.out_indices = tuple(out_indices)
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages, in_planes = [], widths[0]
        for i, w in enumerate(widths):
            blocks = []
            for j in range(n):
                blocks.append(_BasicBlock(in_planes, w, 2 if (i > 0 and j == 0) else 1))
                in_planes = w
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.out_channels = widths[-1]

    def init_weights(self) -> None:
        super().init_weights()
        if self.init_cfg is None:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = F.relu(self.bn1(self.conv1(x)))
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
