"""Global Context block (Cao et al., GCNet 2019): one query-independent context, added everywhere."""

from __future__ import annotations

import torch
from torch import nn

from viz.attention.mechanism import MapFact, Mechanism
from viz.capture import emit


class GlobalContextBlock(nn.Module):
    """GC block: a = softmax_N(conv_mask(x)), ctx = sum_j a_j x_j, t = Conv-LN-ReLU-Conv(ctx).

    ``fusion="add"`` (the paper's choice) returns x + t; ``"mul"`` returns x * sigma(t). The last
    conv is zero-initialised so a new block is the identity.

    Args:
        channels: C of the input.
        ratio: bottleneck ratio r (C*r hidden channels; 1/16 in the paper, 1/4 also used).
        fusion: "add" or "mul".
    """

    attention_kind = "gc"

    def __init__(self, channels: int, ratio: float = 1 / 16, fusion: str = "add"):
        super().__init__()
        if fusion not in ("add", "mul"):
            raise ValueError(f"fusion must be 'add' or 'mul', not {fusion!r}")
        hidden = max(int(round(channels * ratio)), 1)
        self.fusion = fusion
        self.conv_mask = nn.Conv2d(channels, 1, 1)
        self.transform = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.LayerNorm([hidden, 1, 1]),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
        )
        nn.init.zeros_(self.transform[-1].weight)
        nn.init.zeros_(self.transform[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        attn = torch.softmax(self.conv_mask(x).view(b, h * w), dim=1)  # (B, N)
        context = torch.bmm(x.view(b, c, h * w), attn.unsqueeze(2)).view(b, c, 1, 1)
        t = self.transform(context)
        term = t if self.fusion == "add" else torch.sigmoid(t)
        emit(self, context=attn.view(b, h, w), transform=term.flatten(1))
        return x + term if self.fusion == "add" else x * term


TITLE = "Global Context block"
FORMULA = "a = softmax_N(conv_mask(x)); ctx = Σ_j a_j x_j; out = x + Conv(ReLU(LN(Conv(ctx))))"
# the context map is a softmax over H·W (sums to 1), shown as it is
MAPS = (MapFact("context a = softmax(conv_mask(x))", "context", lambda t: t["context"]),)


def _explain(t) -> str:
    h, w = t["context"].shape
    return (
        f"One context map of {h}×{w} = {h * w} weights summing to 1; "
        f"the transform adds a {t['transform'].shape[0]}-channel vector at every position."
    )


MECHANISM = Mechanism(
    "gc", "context", TITLE, FORMULA, GlobalContextBlock, None, MAPS, ("spatial",), _explain
)
