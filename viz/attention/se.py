"""Squeeze-and-Excitation (Hu et al., CVPR 2018): s = sigma(W2 relu(W1 GAP(x))), out = x * s."""

from __future__ import annotations

import torch
from torch import nn

from viz.attention.mechanism import channel_mechanism
from viz.capture import emit


class SqueezeExcite(nn.Module):
    """SE channel gate.

    Args:
        channels: C of the input.
        reduction: r, the bottleneck is C / r wide (the paper's default 16).
        hidden: explicit bottleneck width; overrides ``reduction``.
    """

    attention_kind = "se"

    def __init__(self, channels: int, reduction: int = 16, hidden: int | None = None):
        super().__init__()
        hidden = hidden or max(channels // reduction, 4)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True)))))
        emit(self, channel=gate.flatten(1))
        return x * gate


FORMULA = "s = σ(W₂ δ(W₁ GAP(x))), out = x · s"
MECHANISM = channel_mechanism("se", "Squeeze-and-Excitation", FORMULA, SqueezeExcite)
