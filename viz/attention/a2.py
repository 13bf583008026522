"""Double attention (A^2-Nets, Chen et al., NeurIPS 2018): gather n global descriptors, distribute.

A = phi(X) (m x N), B = theta(X) (n x N), V = rho(X) (n x N).
Gather: G = A softmax_N(B)^T (m x n); each of the n maps is a softmax over the N positions.
Distribute: Z = G softmax_n(V) (m x N); at each position a softmax over the n descriptors.
"""

from __future__ import annotations

import torch
from torch import nn

from viz.attention.mechanism import MapFact, Mechanism, mb
from viz.capture import emit


def double_attention(
    a: torch.Tensor, b: torch.Tensor, v: torch.Tensor, form: str = "gather_distribute"
) -> torch.Tensor:
    """Z from flattened A (B,m,N), B (B,n,N), V (B,n,N).

    ``"gather_distribute"`` costs O(mnN) memory-light; ``"quadratic"`` is the equivalent
    A [softmax_N(B)^T softmax_n(V)] with an N x N intermediate (only for checks and demos).
    """
    gather = torch.softmax(b, dim=2)  # over positions
    distribute = torch.softmax(v, dim=1)  # over descriptors
    if form == "gather_distribute":
        return torch.bmm(torch.bmm(a, gather.transpose(1, 2)), distribute)
    if form == "quadratic":
        return torch.bmm(a, torch.bmm(gather.transpose(1, 2), distribute))
    raise ValueError(f"form must be 'gather_distribute' or 'quadratic', not {form!r}")


class DoubleAttention(nn.Module):
    """A^2 block added residually: out = x + W_out Z.

    Args:
        channels: C of the input.
        m: channels of the gathered features phi(X) (default C/4).
        n: number of global descriptors (default C/4).
        zero_init: zero the output conv so a new block is the identity.
    """

    attention_kind = "a2"

    def __init__(self, channels: int, m: int | None = None, n: int | None = None, zero_init=True):
        super().__init__()
        self.m = m or max(channels // 4, 1)
        self.n = n or max(channels // 4, 1)
        self.phi = nn.Conv2d(channels, self.m, 1)
        self.theta = nn.Conv2d(channels, self.n, 1)
        self.rho = nn.Conv2d(channels, self.n, 1)
        self.proj = nn.Conv2d(self.m, channels, 1)
        if zero_init:
            nn.init.zeros_(self.proj.weight)
            nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bsz, _, h, w = x.shape
        a = self.phi(x).flatten(2)
        b = self.theta(x).flatten(2)
        v = self.rho(x).flatten(2)
        gather = torch.softmax(b, dim=2)
        distribute = torch.softmax(v, dim=1)
        descriptors = torch.bmm(a, gather.transpose(1, 2))  # G: (B, m, n)
        z = torch.bmm(descriptors, distribute).view(bsz, self.m, h, w)
        emit(
            self,
            gather=gather.view(bsz, self.n, h, w),
            distribute=distribute.view(bsz, self.n, h, w),
            descriptors=descriptors,
        )
        return x + self.proj(z)


TITLE = "Double attention (A²)"
FORMULA = "G = φ(X) softmax_N(θ(X))ᵀ (gather, m×n); Z = G softmax_n(ρ(X)) (distribute, m×N)"
MAPS = (MapFact("gather maps, mean over n", "gather", lambda t: t["gather"].mean(axis=0)),)


def _explain(t) -> str:
    n, h, w = t["gather"].shape
    big_n = h * w
    m = t["descriptors"].shape[0] if "descriptors" in t else n
    return (
        f"Here m = {m}, n = {n}, N = {h}×{w} = {big_n}. Gather/distribute keeps "
        f"O(mn + nN) = {m * n + n * big_n:,} floats ({mb(4 * (m * n + n * big_n))}); "
        f"the equivalent φ[softmax(θ)ᵀ softmax(ρ)] form needs an N×N = {big_n * big_n:,} "
        f"matrix ({mb(4 * big_n * big_n)})."
    )


MECHANISM = Mechanism(
    "a2", "double", TITLE, FORMULA, DoubleAttention, None, MAPS, ("double_attention",), _explain
)
