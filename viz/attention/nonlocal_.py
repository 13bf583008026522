"""Non-local block (Wang et al., CVPR 2018) in its four pairwise forms.

y_i = sum_j f(x_i, x_j) g(x_j) / C(x);  z = BN(W_z y) + x, with BN's gamma zero so a new block is the
identity. Forms: gaussian softmax_j(x_i^T x_j) on the raw input; embedded gaussian
softmax_j(theta_i^T phi_j); dot product theta_i^T phi_j / N'; concatenation
ReLU(w_f^T [theta_i; phi_j]) / N'.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from viz.attention.mechanism import MapFact, Mechanism, mb
from viz.capture import emit, is_capturing

NL_FORMS = ("gaussian", "embedded_gaussian", "dot_product", "concatenation")


class NonLocalBlock(nn.Module):
    """Non-local block.

    Args:
        channels: C of the input.
        mode: one of ``NL_FORMS``.
        inter_channels: width of theta/phi/g (C/2 by default).
        sub_sample: 2x2 max-pool after phi and g (N' = N/4 keys), as in the paper's option.
        scale: multiplier of the pairwise logits for the softmax forms: ``None`` (the paper),
            ``"sqrt_inter"`` (mmcv: 1/sqrt(C/2)) or a float (timm: C**-0.5 of the input C).
    """

    def __init__(
        self,
        channels: int,
        mode: str = "embedded_gaussian",
        inter_channels: int | None = None,
        sub_sample: bool = False,
        scale: float | str | None = None,
    ):
        super().__init__()
        if mode not in NL_FORMS:
            raise ValueError(f"mode must be one of {NL_FORMS}, not {mode!r}")
        self.mode, self.sub_sample = mode, sub_sample
        self.attention_kind = f"nl_{mode}"
        inter = inter_channels or max(channels // 2, 1)
        self.inter_channels = inter
        if scale == "sqrt_inter":
            scale = inter**-0.5
        self.scale = 1.0 if scale is None else float(scale)
        self.g = nn.Conv2d(channels, inter, 1)
        if mode != "gaussian":
            self.theta = nn.Conv2d(channels, inter, 1)
            self.phi = nn.Conv2d(channels, inter, 1)
        if mode == "concatenation":
            self.concat_project = nn.Conv2d(2 * inter, 1, 1, bias=False)
        self.W_z = nn.Conv2d(inter, channels, 1)
        self.bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def _pool(self, t: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(t, 2) if self.sub_sample else t

    def embeddings(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
        """Queries (B, c, N), keys (B, c, N') and the key grid (H', W'); x itself for gaussian."""
        if self.mode == "gaussian":
            q, k = x, self._pool(x)
        else:
            q, k = self.theta(x), self._pool(self.phi(x))
        return q.flatten(2), k.flatten(2), (k.shape[2], k.shape[3])

    def pairwise(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Attention rows (B, N, N') for every query, and the key grid (H', W')."""
        attention, key_hw, _ = self._attend(x)
        return attention, key_hw

    def _attend(self, x: torch.Tensor):
        q, k, key_hw = self.embeddings(x)
        n_keys = k.shape[2]
        split = {}
        if self.mode == "concatenation":
            w_q, w_k = self.concat_project.weight.view(2, -1)
            query_term, key_term = (w_q @ q), (w_k @ k)  # (B, N), (B, N')
            if is_capturing():
                split = {"query_term": query_term, "key_term": key_term}
            logits = query_term.unsqueeze(2) + key_term.unsqueeze(1)  # w^T[theta_i; phi_j]
            return F.relu(logits) / n_keys, key_hw, split
        logits = torch.bmm(q.transpose(1, 2), k)
        if is_capturing():
            split = dnl_split(q, k)
        if self.mode == "dot_product":
            return logits / n_keys, key_hw, split
        return torch.softmax(logits * self.scale, dim=2), key_hw, split

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        attention, key_hw, split = self._attend(x)
        g = self._pool(self.g(x)).flatten(2)  # (B, c, N')
        y = torch.bmm(g, attention.transpose(1, 2)).view(b, self.inter_channels, h, w)
        delta = self.bn(self.W_z(y))
        extra = {"keys_shape": torch.tensor(key_hw)} if self.sub_sample else {}
        emit(self, attention=attention, input=x, output=delta, **split, **extra)
        return x + delta


def dnl_split(q: torch.Tensor, k: torch.Tensor) -> dict[str, torch.Tensor]:
    """DNL's split of the logits q_i^T k_j (Yin et al., ECCV 2020): the part every query shares.

    ``unary`` (B, N') = mu_q^T k_j is the same for every query i; ``pairwise`` (B, N, N') =
    (q_i - mu_q)^T k_j is what makes rows differ. ``pairwise + unary`` equals the logits exactly
    (before any scale / softmax / division by N').

    Args:
        q: queries (B, c, N). k: keys (B, c, N').
    """
    mu = q.mean(dim=2, keepdim=True)  # (B, c, 1)
    unary = torch.bmm(mu.transpose(1, 2), k).squeeze(1)
    pairwise = torch.bmm((q - mu).transpose(1, 2), k)
    return {"unary": unary, "pairwise": pairwise}


def grids(tensors) -> tuple[tuple[int, int], tuple[int, int]]:
    """(query grid (H, W), key grid (H', W')) of a Non-local record's numpy tensors."""
    _, h, w = tensors["input"].shape
    if "keys_shape" in tensors:
        kh, kw = (int(v) for v in np.asarray(tensors["keys_shape"]).ravel()[:2])
    else:
        kh, kw = h, w
    return (h, w), (kh, kw)


def mean_row_map(tensors) -> np.ndarray:
    """The mean attention row over all queries, on the key grid."""
    _, (kh, kw) = grids(tensors)
    return tensors["attention"].mean(axis=0).reshape(kh, kw)


def _explain(t) -> str:
    c, h, w = t["input"].shape
    n, n_keys = t["attention"].shape
    return (
        f"Here C = {c}, the map is {h}×{w} (N = {n} queries, N' = {n_keys} keys); the attention "
        f"matrix has {n * n_keys:,} entries ({mb(4 * n * n_keys)})."
    )


_PAIRWISE = {
    "gaussian": "softmax_j(x_iᵀ x_j)",
    "embedded_gaussian": "softmax_j(θ_iᵀ φ_j)",
    "dot_product": "(θ_iᵀ φ_j / N')",
    "concatenation": "ReLU(w_fᵀ[θ_i; φ_j]) / N' ·",
}
_TITLES = {
    "gaussian": "Non-local, Gaussian",
    "embedded_gaussian": "Non-local, embedded Gaussian",
    "dot_product": "Non-local, dot product",
    "concatenation": "Non-local, concatenation",
}

MECHANISMS = tuple(
    Mechanism(
        kind=f"nl_{form}",
        family="nonlocal",
        title=_TITLES[form],
        formula=f"y_i = Σ_j {_PAIRWISE[form]} g(x_j); z = BN(W_z y) + x",
        build=partial(NonLocalBlock, mode=form),
        # dot-product rows are θᵀφ / N': signed, not distributions
        maps=(
            MapFact(
                "mean attention row (all queries)",
                "attention",
                mean_row_map,
                unit=form != "dot_product",
            ),
        ),
        pages=("nonlocal", "query_independence"),
        explain=_explain,
    )
    for form in NL_FORMS
)
