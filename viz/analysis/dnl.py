"""DNL's decomposition of Non-local logits on one image (Yin et al., ECCV 2020): the unary
(shared) term's share of the logit variance and the maps each term draws.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from viz.analysis import numpy_stats


def dnl_share(unary: np.ndarray, pairwise: np.ndarray) -> float:
    """R² of the unary term: 1 - sum_i Var_j(pairwise_ij) / sum_i Var_j(logit_ij) (one image)."""
    logits = pairwise + unary[None, :]
    total = float(logits.var(axis=1).sum())
    return 1.0 - float(pairwise.var(axis=1).sum()) / total if total > 0 else float("nan")


def dnl_maps(
    unary: np.ndarray,
    pairwise: np.ndarray,
    queries: Sequence[int],
    key_hw: tuple[int, int],
    softmax: bool,
) -> dict[str, np.ndarray]:
    """The unary map (what every query shares) and each query's pairwise map, on the key grid.

    For the softmax forms the unary map is softmax(unary) (the map the shared term alone draws);
    pairwise maps are logits (signed: where this query looks more or less than the shared map).
    """
    shared = numpy_stats.softmax(unary) if softmax else unary
    out = {"unary": shared.reshape(key_hw)}
    for q in queries:
        out[f"pairwise {q}"] = pairwise[q].reshape(key_hw)
    return out
