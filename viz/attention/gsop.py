"""Global second-order pooling (GSoP, Gao et al., CVPR 2019): gates from a covariance matrix."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from viz.attention.mechanism import MapFact, channel_mechanism
from viz.capture import emit


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Centred covariance of the rows of x (B, d, M) over its M samples, divided by M: (B, d, d)."""
    xc = x - x.mean(dim=2, keepdim=True)
    return torch.bmm(xc, xc.transpose(1, 2)) / x.shape[2]


class _RowWise(nn.Module):
    """Row-wise BN, then a group conv that turns each covariance row into 4 numbers."""

    def __init__(self, d: int, out: int):
        super().__init__()
        self.row_bn = nn.BatchNorm2d(d)
        self.row_conv = nn.Conv2d(d, 4 * d, kernel_size=(d, 1), groups=d)
        self.fc = nn.Conv2d(4 * d, out, 1)

    def forward(self, cov: torch.Tensor) -> torch.Tensor:
        y = self.row_conv(self.row_bn(cov.unsqueeze(3)))  # (B, 4d, 1, 1)
        return torch.sigmoid(self.fc(y)).flatten(1)


class GlobalSecondOrderPooling(nn.Module):
    """GSoP block.

    Channel form: ReLU -> 1x1 C->d -> BN -> ReLU -> covariance (d x d) -> row-wise BN -> row conv
    (groups d, kernel (d,1), 4d out) -> 1x1 to C -> sigma; out = x * att.
    Position form: 1x1 C->d -> pool to 8x8 -> covariance of the 64 positions -> row conv -> 1x1 to 64
    -> sigma -> 8x8 map upsampled to H x W; out = x * map.

    Args:
        channels: C of the input.
        d: reduced channels (128 in the paper).
        mode: "channel" (default), "position", or "both" (channel gate, then position map).
        grid: side of the pooled grid for the position form (8).
    """

    attention_kind = "gsop"

    def __init__(self, channels: int, d: int = 128, mode: str = "channel", grid: int = 8):
        super().__init__()
        if mode not in ("channel", "position", "both"):
            raise ValueError(f"mode must be 'channel', 'position' or 'both', not {mode!r}")
        self.mode, self.grid = mode, grid
        if mode in ("channel", "both"):
            self.reduce = nn.Sequential(
                nn.ReLU(), nn.Conv2d(channels, d, 1), nn.BatchNorm2d(d), nn.ReLU(inplace=True)
            )
            self.channel_head = _RowWise(d, channels)
        if mode in ("position", "both"):
            self.pos_reduce = nn.Sequential(
                nn.Conv2d(channels, d, 1), nn.BatchNorm2d(d), nn.ReLU(inplace=True)
            )
            self.position_head = _RowWise(grid * grid, grid * grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        captured = {}
        if self.mode in ("channel", "both"):
            gate = self.channel_head(covariance(self.reduce(x).flatten(2)))  # (B, C)
            x = x * gate[:, :, None, None]
            captured["channel"] = gate
        if self.mode in ("position", "both"):
            pooled = F.adaptive_avg_pool2d(self.pos_reduce(x), self.grid).flatten(2)  # (B, d, 64)
            att = self.position_head(covariance(pooled.transpose(1, 2)))  # positions as variables
            att = att.view(-1, 1, self.grid, self.grid)
            spatial = F.interpolate(att, size=x.shape[2:], mode="bilinear", align_corners=False)
            x = x * spatial
            captured["spatial"] = spatial[:, 0]
        emit(self, **captured)
        return x


FORMULA = "att = σ(conv(rowconv(Cov(conv₁ₓ₁(x))))), out = x · att  (second-order pooling)"
POSITION_MAP = MapFact("position attention", "spatial", lambda t: t["spatial"])
MECHANISM = channel_mechanism(
    "gsop", "Global Second-order Pooling", FORMULA, GlobalSecondOrderPooling, maps=(POSITION_MAP,)
)
