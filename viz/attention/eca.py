"""Efficient Channel Attention (Wang et al., CVPR 2020): a 1-D conv across GAP(x), no reduction."""

from __future__ import annotations

import math

import torch
from torch import nn

from viz.attention.mechanism import channel_mechanism
from viz.capture import emit


def eca_kernel_size(channels: int, gamma: int = 2, b: int = 1) -> int:
    """The paper's adaptive k = |log2(C)/gamma + b/gamma|_odd (no lower bound, unlike timm's >= 3)."""
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


class EfficientChannelAttention(nn.Module):
    """ECA gate: w = sigma(Conv1d_k(GAP(x))), zero padding (k-1)/2, no bias.

    Args:
        channels: C of the input.
        kernel_size: explicit k (the official ResNet-50 checkpoint uses 3/5/5/7); default adaptive.
        gamma, b: constants of the adaptive rule.
    """

    attention_kind = "eca"

    def __init__(self, channels: int, kernel_size: int | None = None, gamma: int = 2, b: int = 1):
        super().__init__()
        k = kernel_size or eca_kernel_size(channels, gamma, b)
        self.kernel_size = k
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x.mean((2, 3)).unsqueeze(1))  # (B, 1, C): channels as a sequence
        gate = torch.sigmoid(y).squeeze(1)
        emit(self, channel=gate)
        return x * gate[:, :, None, None]


FORMULA = "w = σ(Conv1d_k(GAP(x))), out = x · w  (k from log₂ C)"
MECHANISM = channel_mechanism(
    "eca", "Efficient Channel Attention", FORMULA, EfficientChannelAttention
)
