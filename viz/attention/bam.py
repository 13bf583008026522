"""BAM (Park et al., BMVC 2018): F' = F + F * sigma(Mc(F) + Ms(F)), the paper's sum of branches."""

from __future__ import annotations

import torch
from torch import nn

from viz.attention.mechanism import MapFact, channel_mechanism, expit
from viz.capture import emit


def _conv_bn_relu(cin: int, cout: int, k: int, dilation: int = 1) -> list[nn.Module]:
    pad = dilation * (k - 1) // 2
    return [
        nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


class BottleneckAttention(nn.Module):
    """Bottleneck Attention Module.

    The official code multiplies the two branches; the paper (and this module) adds them.

    Args:
        channels: C of the input.
        reduction: r for both branches (16 in the paper).
        dilation: d of the two 3x3 convs of the spatial branch (4 in the paper).
        dilated_convs: how many dilated 3x3 convs (2 in the paper).
    """

    attention_kind = "bam"

    def __init__(self, channels: int, reduction: int = 16, dilation: int = 4, dilated_convs=2):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.channel_fc1 = nn.Linear(channels, hidden)
        self.channel_bn = nn.BatchNorm1d(hidden)
        self.channel_fc2 = nn.Linear(hidden, channels)
        layers = _conv_bn_relu(channels, hidden, 1)
        for _ in range(dilated_convs):
            layers += _conv_bn_relu(hidden, hidden, 3, dilation)
        layers.append(nn.Conv2d(hidden, 1, 1))
        self.spatial = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mc = self.channel_fc2(torch.relu(self.channel_bn(self.channel_fc1(x.mean((2, 3))))))
        ms = self.spatial(x)  # (B, 1, H, W)
        gate = torch.sigmoid(mc[:, :, None, None] + ms)
        emit(self, channel=mc, spatial=ms[:, 0], gate=gate)
        return x + x * gate


FORMULA = "F' = F + F ⊗ σ(Mc(F) + Ms(F)), Mc: GAP → MLP, Ms: dilated 3×3 convs"
# BAM emits logits: its branches become [0, 1] through σ; the gate is σ(Mc + Ms) already.
MAPS = (
    MapFact("σ(Ms) spatial branch", "spatial", lambda t: expit(t["spatial"])),
    MapFact("gate σ(Mc+Ms), mean over channels", "gate", lambda t: t["gate"].mean(axis=0)),
)
MECHANISM = channel_mechanism(
    "bam",
    "Bottleneck Attention Module",
    FORMULA,
    BottleneckAttention,
    maps=MAPS,
    logits=True,
    family="channel+spatial",
)
