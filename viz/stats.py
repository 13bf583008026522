"""GCNet's Table-1 statistics: how much do Non-local inputs, outputs and attention maps differ
between positions?

For vectors v_1..v_N (one per position), GCNet reports d = (1 - cos(v_i, v_j)) / 2 averaged over all
N*N ordered pairs, self-pairs included, and for attention rows that are distributions the mean
Jensen-Shannon divergence.

Cost and memory. The mean cosine needs no pairs at all: with u_i = v_i / |v_i|, the mean of
u_i . u_j over all pairs is |mean_i u_i|^2, so ``cos_*`` is O(N C). The JSD has no such shortcut; it
is computed exactly over the N(N-1)/2 unordered pairs in blocks whose working set is bounded by
``memory_budget`` bytes (64 MiB by default), so N = 4096 stays within the budget at the price of
time (O(N^2 N')). Zero vectors follow ``torch.cosine_similarity``: cos = 0 with everything.

Run ``python -m viz.stats IMAGE_DIR --backbone NAME`` for the statistics over a folder of images.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "cosine_distance_matrix",
    "jsd_matrix",
    "mean_cosine_distance",
    "mean_jsd",
    "mean_map",
    "query_independence",
    "record_statistics",
    "rows_are_distributions",
]

DEFAULT_MEMORY_BUDGET = 64 * 2**20  # bytes for the JSD block's working set


def _as_tensor(a) -> torch.Tensor:
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    return t.detach().to(torch.float64).cpu()


def _unit_rows(v: torch.Tensor) -> torch.Tensor:
    norms = v.norm(dim=1, keepdim=True)
    return torch.where(norms > 1e-12, v / norms.clamp_min(1e-12), torch.zeros_like(v))


def mean_cosine_distance(vectors) -> float:
    """Mean of (1 - cos)/2 over all N*N ordered pairs of the rows of ``vectors`` (N, C)."""
    v = _as_tensor(vectors)
    if v.ndim != 2 or v.shape[0] == 0:
        raise ValueError(f"expected a non-empty (N, C) array, got shape {tuple(v.shape)}")
    # sum_i v_i / |v_i| as one matrix-vector product: no (N, C) temporary (N = C = 4096 is 134 MB)
    norms = v.norm(dim=1)
    inv = torch.where(norms > 1e-12, 1.0 / norms.clamp_min(1e-12), torch.zeros_like(norms))
    mean_unit = (inv @ v) / v.shape[0]
    mean_cos = float(mean_unit @ mean_unit)
    return (1.0 - mean_cos) / 2.0


def cosine_distance_matrix(vectors) -> np.ndarray:
    """(1 - cos)/2 between every pair of rows of ``vectors`` (k, C): a (k, k) array."""
    u = _unit_rows(_as_tensor(vectors))
    return ((1.0 - u @ u.T) / 2.0).numpy()


def rows_are_distributions(attention, atol: float = 1e-4) -> bool:
    """True when every row is non-negative and sums to 1 (softmax forms)."""
    a = _as_tensor(attention)
    return bool(
        (a >= -atol).all()
        and torch.allclose(a.sum(dim=1), torch.ones(a.shape[0], dtype=a.dtype), atol=atol)
    )


def _block_size(n_keys: int, memory_budget: int) -> int:
    # working set of one block: b x b x N' float64 for m log m, plus a temporary of the same size,
    # plus up to four b x b float64 matrices (entropy sums, cross term, JSD, clamp) alive at once
    per_pair = 8 * (2 * n_keys + 4)
    return max(1, int(math.isqrt(max(memory_budget // per_pair, 1))))


def _jsd_pair_sums(p: torch.Tensor, memory_budget: int, full_matrix: bool):
    """Sum of JSD over all ordered pairs (and optionally the full matrix), in blocks."""
    n, n_keys = p.shape
    neg_entropy = torch.xlogy(p, p).sum(dim=1)  # sum_k p log p
    block = _block_size(n_keys, memory_budget)
    total = 0.0
    matrix = torch.zeros(n, n, dtype=p.dtype) if full_matrix else None
    # Two block buffers reused for every block: freeing and re-allocating ~32 MB tensors lets glibc
    # keep freed blocks resident (its dynamic mmap threshold), which tripled the measured peak RSS.
    size = min(block, n) ** 2 * n_keys
    buf_m, buf_l = torch.empty(size, dtype=p.dtype), torch.empty(size, dtype=p.dtype)
    for i0 in range(0, n, block):
        pi = p[i0 : i0 + block]
        for j0 in range(i0, n, block):
            pj = p[j0 : j0 + block]
            shape = (pi.shape[0], pj.shape[0], n_keys)
            m = buf_m[: shape[0] * shape[1] * n_keys].view(shape)
            torch.add(pi[:, None, :], pj[None, :, :], out=m).mul_(0.5)
            m_log_m = buf_l[: m.numel()].view(shape)
            cross = torch.xlogy(m, m, out=m_log_m).sum(dim=2)
            jsd = 0.5 * (neg_entropy[i0 : i0 + block, None] + neg_entropy[None, j0 : j0 + block])
            jsd = (jsd - cross).clamp_min(0.0)
            weight = 1.0 if i0 == j0 else 2.0  # blocks above the diagonal stand for both orders
            total += weight * float(jsd.sum())
            if matrix is not None:
                matrix[i0 : i0 + block, j0 : j0 + block] = jsd
                matrix[j0 : j0 + block, i0 : i0 + block] = jsd.T
    return total, matrix


def mean_jsd(attention, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> float:
    """Mean Jensen-Shannon divergence (natural log) over all N*N ordered pairs of rows."""
    p = _as_tensor(attention)
    total, _ = _jsd_pair_sums(p, memory_budget, full_matrix=False)
    return total / (p.shape[0] ** 2)


def jsd_matrix(rows, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> np.ndarray:
    """JSD between every pair of the given distributions (k, N'): a (k, k) array."""
    _, matrix = _jsd_pair_sums(_as_tensor(rows), memory_budget, full_matrix=True)
    return matrix.numpy()


def mean_map(attention) -> np.ndarray:
    """The attention row averaged over all queries (N',): what a query-independent block would use."""
    return _as_tensor(attention).mean(dim=0).numpy()


def query_independence(
    inputs, outputs, attention, memory_budget: int = DEFAULT_MEMORY_BUDGET
) -> dict[str, float | None]:
    """GCNet's Table-1 statistics for one Non-local block on one image.

    Args:
        inputs: (N, C) the block's input x at each position.
        outputs: (N, C) the block's output z - x at each position.
        attention: (N, N') attention rows, one per query position.
        memory_budget: bytes allowed for one JSD block.

    Returns:
        dict with ``cos_input``, ``cos_output``, ``cos_att`` (mean (1 - cos)/2 over all ordered pairs)
        and ``jsd_att`` (mean JSD, ``None`` when rows are not distributions).
    """
    att = _as_tensor(attention)
    if att.ndim != 2:
        raise ValueError(f"attention must be (N, N'), got shape {tuple(att.shape)}")
    n = att.shape[0]
    for name, arr in (("inputs", inputs), ("outputs", outputs)):
        if tuple(np.shape(arr))[:1] != (n,):
            raise ValueError(
                f"{name} must have one row per query ({n}), got {tuple(np.shape(arr))}"
            )
    return {
        "cos_input": mean_cosine_distance(inputs),
        "cos_output": mean_cosine_distance(outputs),
        "cos_att": mean_cosine_distance(att),
        "jsd_att": mean_jsd(att, memory_budget) if rows_are_distributions(att) else None,
    }


def record_statistics(record, index: int = 0, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> dict:
    """Table-1 statistics of one image (batch ``index``) of a captured ``nl_*`` record."""
    t = record.tensors
    x, z = t["input"][index], t["output"][index]
    c = x.shape[0]
    return query_independence(
        x.reshape(c, -1).T, z.reshape(c, -1).T, t["attention"][index], memory_budget
    )


if __name__ == "__main__":  # pragma: no cover - the batch command lives in viz.batch
    from viz.batch import main

    raise SystemExit(main())
