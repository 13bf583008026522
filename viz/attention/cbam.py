"""CBAM (Woo et al., ECCV 2018): channel gate from avg- and max-pooled MLP, then a 7x7 spatial gate."""

from __future__ import annotations

import torch
from torch import nn

from viz.attention.mechanism import MapFact, channel_mechanism
from viz.capture import emit


class CBAM(nn.Module):
    """Convolutional Block Attention Module, the official layout.

    The spatial branch concatenates **max then mean** over channels (the official order; timm's
    ``CbamModule`` uses mean then max, so porting swaps the two input channels of the 7x7 kernel).

    Args:
        channels: C of the input.
        reduction: r of the shared MLP (C -> C/r -> C).
        kernel_size: spatial kernel (7 in the paper).
        mlp_bias: the official MLP has biases; timm's default has none.
    """

    attention_kind = "cbam"

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7, mlp_bias=True):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=mlp_bias)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=mlp_bias)
        self.spatial_conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.spatial_bn = nn.BatchNorm2d(1)

    def _mlp(self, v: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(v)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = x.mean((2, 3), keepdim=True)
        mx = x.amax((2, 3), keepdim=True)
        channel = torch.sigmoid(self._mlp(avg) + self._mlp(mx))
        x = x * channel
        pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], dim=1)
        spatial = torch.sigmoid(self.spatial_bn(self.spatial_conv(pooled)))
        emit(self, channel=channel.flatten(1), spatial=spatial[:, 0])
        return x * spatial


FORMULA = (
    "Mc = σ(MLP(avg x) + MLP(max x)); Ms = σ(BN(conv₇ₓ₇([max_c x'; mean_c x']))); out = x · Mc · Ms"
)
SPATIAL_MAP = MapFact("spatial gate Ms", "spatial", lambda t: t["spatial"])
MECHANISM = channel_mechanism(
    "cbam",
    "Convolutional Block Attention Module",
    FORMULA,
    CBAM,
    maps=(SPATIAL_MAP,),
    family="channel+spatial",
)
