"""GCNet's Table-1 statistics: how much do Non-local inputs, outputs and attention maps differ
between positions?

For vectors v_1..v_N (one per position), GCNet reports d = (1 - cos(v_i, v_j)) / 2 averaged over all
N*N ordered pairs, self-pairs included, and for attention rows that are distributions the mean
Jensen-Shannon divergence.

Cost and memory. The mean cosine needs no pairs at all: with u_i = v_i / |v_i|, the mean of
u_i . u_j over all pairs is |mean_i u_i|^2, so ``cos_*`` is O(N C). The JSD has no such shortcut:
JSD(p, q) = (sum p log p + sum q log q) / 2 - sum m log m with m = (p + q) / 2, and only the last
term needs the pair, but it needs all N' keys of it, so the exact mean is O(N^2 N') — measured at
~200 M pair-keys/s on this 2-core machine, N = 4096 would take ~3 min at best (577 s and 870 s measured under load).
Hence two methods, chosen per call:

- ``exact``: every unordered pair, in float64 blocks whose working set is bounded by
  ``memory_budget`` bytes (64 MiB by default). The default when the work N(N-1)/2 * N' is at most
  ``EXACT_MAX_WORK`` (about a second; N = 784 with all keys is exact).
- ``sampled``: ``sample_pairs`` ordered pairs i != j drawn uniformly with replacement (seeded, so
  a call is reproducible), their JSD exact in float64. Self-pairs contribute exactly 0, so the mean
  over all N^2 pairs is (1 - 1/N) times the mean over i != j; the 95 % interval is
  mean +- 1.96 SE (central limit over i.i.d. bounded samples). O(pairs * N'): N = N' = 4096 in
  1.4 s (quiet) to 3.2 s (heavily loaded) with 2 threads, against ~15 min exact under load.

``exact=True`` forces the exact method, ``exact=False`` the sampled one. Zero vectors follow
``torch.cosine_similarity``: cos = 0 with everything.

Run ``python -m viz stats IMAGE_DIR --backbone NAME`` for the statistics over a folder of images.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "DEFAULT_SAMPLE_PAIRS",
    "EXACT_MAX_WORK",
    "cosine_distance_matrix",
    "jsd_matrix",
    "mean_cosine_distance",
    "mean_jsd",
    "mean_map",
    "query_independence",
    "record_statistics",
    "rows_are_distributions",
    "sampled_mean_jsd",
    "use_exact_jsd",
]

DEFAULT_MEMORY_BUDGET = 64 * 2**20  # bytes for the JSD block's working set
# Above this many pair-keys (N(N-1)/2 * N') the exact JSD costs more than ~1 s here: sample instead.
EXACT_MAX_WORK = 250_000_000
# 20 000 pairs: relative SE = (std/mean of the pair JSDs) / 141, ~0.6 % on mixed rows (bench/).
DEFAULT_SAMPLE_PAIRS = 20_000
Z95 = 1.959963984540054  # two-sided 95 % normal quantile


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


CACHE_BYTES = 2 * 1024 * 1024  # a block's m and m log m fit in a core's L2 / nearby cache


def _block_size(n_keys: int, memory_budget: int) -> int:
    """Rows per block of the pairwise JSD: small enough for the block to stay in cache (the
    passes over it are memory-bound: 32-row blocks made N = 196 3x faster than 142-row ones),
    at least 16 so the Python loop stays cheap, and within ``memory_budget``."""
    # working set of one block: b x b x N' float64 for m log m, plus a temporary of the same size,
    # plus up to four b x b float64 matrices (entropy sums, cross term, JSD, clamp) alive at once
    per_pair = 8 * (2 * n_keys + 4)
    by_memory = max(1, int(math.isqrt(max(memory_budget // per_pair, 1))))
    by_cache = max(16, int(math.isqrt(max(CACHE_BYTES // per_pair, 1))))
    return min(by_memory, by_cache)


_TINY = torch.finfo(torch.float64).tiny


def _x_log_x(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """x log x with 0 log 0 = 0, as ``torch.xlogy(x, x)`` but 3-4x faster on the CPU (xlogy is
    not vectorised; log is). Entries below the smallest normal float give x log(tiny) instead of
    x log x: both are below 1e-300 in size."""
    out = torch.clamp_min(x, _TINY, out=out) if out is not None else x.clamp_min(_TINY)
    return out.log_().mul_(x)


def _neg_entropy(p: torch.Tensor, memory_budget: int) -> torch.Tensor:
    """sum_k p log p of every row, in row blocks: one xlogy over all of p is a second (N, N') copy
    (134 MB at N = N' = 4096)."""
    rows = max(1, memory_budget // (8 * max(p.shape[1], 1)))
    return torch.cat([_x_log_x(b).sum(dim=1) for b in p.split(rows)])


def _jsd_pair_sums(p: torch.Tensor, memory_budget: int, full_matrix: bool):
    """Sum of JSD over all ordered pairs (and optionally the full matrix), in blocks."""
    n, n_keys = p.shape
    neg_entropy = _neg_entropy(p, memory_budget)  # sum_k p log p
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
            cross = _x_log_x(m, out=m_log_m).sum(dim=2)
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


def _sample_chunk(n_keys: int, memory_budget: int) -> int:
    # pairs per chunk: two chunk x N' float64 gathers alive at once (m, then m log m in place,
    # and p_j), with room for two more (the allocator's slack between chunks)
    return max(1, memory_budget // (4 * 8 * max(n_keys, 1)))


def sampled_mean_jsd(
    attention,
    pairs: int = DEFAULT_SAMPLE_PAIRS,
    seed: int = 0,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> tuple[float, float]:
    """Estimate of :func:`mean_jsd` from random ordered pairs i != j: O(pairs * N'), not O(N^2 N').

    Args:
        attention: (N, N') rows that are distributions, N >= 2.
        pairs: number of ordered pairs drawn (uniformly, with replacement, self-pairs excluded).
        seed: seed of the pair draw (same input and seed -> same estimate).
        memory_budget: bytes for one chunk of sampled pairs.

    Returns:
        (estimate, standard error) of the mean over all N^2 ordered pairs, self-pairs (JSD = 0)
        accounted for exactly by the factor (N - 1) / N.
    """
    p = _as_tensor(attention)
    n, n_keys = p.shape
    if n < 2 or pairs < 2:
        raise ValueError(f"need N >= 2 rows and pairs >= 2, got N = {n}, pairs = {pairs}")
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(0, n, (pairs,), generator=g)
    j = (i + torch.randint(1, n, (pairs,), generator=g)) % n  # uniform over the others
    # sum p log p once per row (N N'), not twice per pair (2 * pairs * N'): a third of the logs
    neg_entropy = _neg_entropy(p, memory_budget)
    half = 0.5 * (neg_entropy[i] + neg_entropy[j])
    values = torch.empty(pairs, dtype=p.dtype)
    chunk = _sample_chunk(n_keys, memory_budget)
    for s0 in range(0, pairs, chunk):
        ii, jj = i[s0 : s0 + chunk], j[s0 : s0 + chunk]
        m = p[ii].add_(p[jj]).mul_(0.5)  # the gather copies, so in place is safe
        cross = _x_log_x(m).sum(dim=1)
        values[s0 : s0 + chunk] = (half[s0 : s0 + chunk] - cross).clamp_min(0.0)
    scale = (n - 1) / n
    mean = float(values.mean()) * scale
    se = float(values.std(correction=1)) / math.sqrt(pairs) * scale
    return mean, se


def use_exact_jsd(n: int, n_keys: int, max_work: int | None = None) -> bool:
    """True when the exact JSD over all N(N-1)/2 pairs is affordable (the automatic choice).

    Args:
        n: rows (queries).
        n_keys: columns (keys) N'.
        max_work: largest N(N-1)/2 * N' computed exactly (``EXACT_MAX_WORK`` when None).
    """
    return n * (n - 1) // 2 * n_keys <= (EXACT_MAX_WORK if max_work is None else max_work)


def jsd_matrix(rows, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> np.ndarray:
    """JSD between every pair of the given distributions (k, N'): a (k, k) array."""
    _, matrix = _jsd_pair_sums(_as_tensor(rows), memory_budget, full_matrix=True)
    return matrix.numpy()


def mean_map(attention) -> np.ndarray:
    """The attention row averaged over all queries (N',): what a query-independent block would use."""
    return _as_tensor(attention).mean(dim=0).numpy()


def query_independence(
    inputs,
    outputs,
    attention,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    *,
    exact: bool | None = None,
    sample_pairs: int = DEFAULT_SAMPLE_PAIRS,
    seed: int = 0,
) -> dict:
    """GCNet's Table-1 statistics for one Non-local block on one image.

    Args:
        inputs: (N, C) the block's input x at each position.
        outputs: (N, C) the block's output z - x at each position.
        attention: (N, N') attention rows, one per query position.
        memory_budget: bytes allowed for one JSD block (exact) or chunk of pairs (sampled).
        exact: True forces the exact JSD, False the sampled estimate; None (default) is exact when
            :func:`use_exact_jsd` says it is affordable (small N), sampled otherwise.
        sample_pairs: ordered pairs drawn by the sampled estimate.
        seed: seed of the sampled estimate's pair draw.

    Returns:
        dict with ``cos_input``, ``cos_output``, ``cos_att`` (mean (1 - cos)/2 over all ordered
        pairs, always exact) and ``jsd_att`` (mean JSD, ``None`` when rows are not distributions),
        plus how the JSD was obtained: ``jsd_att_method`` ("exact" | "sampled" | None),
        ``jsd_att_ci`` (95 % interval (lo, hi); (v, v) when exact), ``jsd_att_se`` (0.0 when exact)
        and ``jsd_att_pairs`` (ordered pairs the value rests on: N^2 exact, ``sample_pairs``
        sampled); all four None when ``jsd_att`` is.
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
    stats = {
        "cos_input": mean_cosine_distance(inputs),
        "cos_output": mean_cosine_distance(outputs),
        "cos_att": mean_cosine_distance(att),
        "jsd_att": None,
        "jsd_att_method": None,
        "jsd_att_ci": None,
        "jsd_att_se": None,
        "jsd_att_pairs": None,
    }
    if not rows_are_distributions(att):
        return stats
    if exact is None:
        exact = use_exact_jsd(n, att.shape[1])
    if exact or n < 2:  # one row: its only pair is the self-pair, JSD 0, nothing to sample
        value = mean_jsd(att, memory_budget)
        stats.update(jsd_att=value, jsd_att_method="exact", jsd_att_ci=(value, value))
        stats.update(jsd_att_se=0.0, jsd_att_pairs=n * n)
    else:
        value, se = sampled_mean_jsd(att, sample_pairs, seed, memory_budget)
        ci = (max(0.0, value - Z95 * se), min(math.log(2), value + Z95 * se))
        stats.update(jsd_att=value, jsd_att_method="sampled", jsd_att_ci=ci)
        stats.update(jsd_att_se=se, jsd_att_pairs=int(sample_pairs))
    return stats


def record_statistics(
    record, index: int = 0, memory_budget: int = DEFAULT_MEMORY_BUDGET, **options
) -> dict:
    """Table-1 statistics of one image (batch ``index``) of a captured ``nl_*`` record.

    Args:
        record: a ``viz.capture`` record with ``input``, ``output`` and ``attention`` tensors.
        index: image within the batch.
        memory_budget, **options: as in :func:`query_independence` (``exact``, ``sample_pairs``,
            ``seed``).
    """
    t = record.tensors
    x, z = t["input"][index], t["output"][index]
    c = x.shape[0]
    return query_independence(
        x.reshape(c, -1).T,
        z.reshape(c, -1).T,
        t["attention"][index],
        memory_budget,
        **options,
    )
