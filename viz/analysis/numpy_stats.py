"""The numpy statistics of attention rows and maps, in one place for every page, figure and the
Table-1 code: cosine distances, the Jensen-Shannon divergence (exact in cache-sized blocks, or
sampled), entropy, softmax, the "rows are distributions" check, the mean row's peak and entropy
(GCNet's "one shared map or flat" guard), and the one bilinear resize of maps and photos.

Why numpy and not torch: these run per page or per pin in a process that has just run a forward,
where each small torch op waited ~10 ms for torch's spinning OpenMP pool, and on this shared 2-core
machine numpy's vectorised log beat torch's two threads on the exact JSD (``bench/numpy_stats.py``).
Training measures whole batches with the torch twins in :mod:`viz.analysis.training_stats`; tests compare
the two.

Conventions. A row shorter than ``ZERO_NORM`` (a zero row; NaN rows too) has cos = 0 with every
row, itself included, as ``torch.cosine_similarity`` has for zero vectors: its distance (1 - cos)/2
is 0.5. Logs are natural (JSD in nats, at most log 2). Inputs may be numpy arrays or torch tensors
(read as float64 without importing torch).

Libraries where they are drop-ins, each checked against the code it replaced: ``scipy.special.
softmax`` (the same max-shifted formula), ``scipy.spatial.distance.cdist`` for cosine distances
(it gives NaN for zero rows: the guard above sets them). Where they are not:
``scipy.stats.entropy`` divides by the row sum, which moves a float32 row's entropy by ~1e-7, and
``scipy.special.entr`` is a scalar loop, half the speed of :func:`_x_log_x`, which the JSD needs
anyway; cdist's ``jensenshannon`` also normalises rows and costs two scalar logs per key and pair,
with no blocked mean. The resize is Pillow's (and torch's ``antialias=True``) triangle filter,
computed in float64 with sparse weights: ``skimage.transform.resize`` smooths with a Gaussian when
shrinking, and Pillow's float mode is float32.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import sparse
from scipy.spatial.distance import cdist
from scipy.special import softmax

__all__ = [
    "CACHE_BYTES",
    "DEFAULT_MEMORY_BUDGET",
    "DEFAULT_SAMPLE_PAIRS",
    "ZERO_NORM",
    "as_float64",
    "cosine_distance_matrix",
    "entropy",
    "jsd_matrix",
    "mean_cosine_distance",
    "mean_jsd",
    "mean_row_distribution",
    "mean_row_entropy",
    "mean_row_peak",
    "resize_bilinear",
    "rows_are_distributions",
    "sampled_mean_jsd",
    "softmax",
]

ZERO_NORM = 1e-12  # a vector at most this long counts as zero (cos 0 with everything)
DEFAULT_MEMORY_BUDGET = 64 * 2**20  # bytes for one JSD block's working set
CACHE_BYTES = 2 * 1024 * 1024  # a block's m and m log m fit in a core's L2 / nearby cache
# 20 000 pairs: relative SE = (std/mean of the pair JSDs) / 141, ~0.6 % on mixed rows (bench/).
DEFAULT_SAMPLE_PAIRS = 20_000
_TINY = np.finfo(np.float64).tiny


def as_float64(a) -> np.ndarray:
    """``a`` as a float64 numpy array (no copy when it already is one); a torch tensor is detached
    and moved to the CPU first, so this module never imports torch."""
    if hasattr(a, "detach"):
        a = a.detach().cpu()
    return np.asarray(a, dtype=np.float64)


# ------------------------------------------------------------------------------ cosine distances


def _norms(v: np.ndarray) -> np.ndarray:
    # einsum, not np.linalg.norm: no (N, C) temporary of squares (N = C = 4096 is 134 MB)
    return np.sqrt(np.einsum("ij,ij->i", v, v))


def mean_cosine_distance(vectors) -> float:
    """Mean of (1 - cos)/2 over all N*N ordered pairs of the rows of ``vectors`` (N, C).

    O(N C), no pairs: with u_i = v_i / |v_i|, the mean of u_i . u_j over all pairs is
    |mean_i u_i|^2 (a pairwise ``pdist`` would be O(N^2 C)).
    """
    v = as_float64(vectors)
    if v.ndim != 2 or v.shape[0] == 0:
        raise ValueError(f"expected a non-empty (N, C) array, got shape {v.shape}")
    norms = _norms(v)
    long_enough = norms > ZERO_NORM
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=long_enough)
    mean_unit = (inv @ v) / v.shape[0]  # sum_i v_i / |v_i| as one product: no unit-row copy
    return (1.0 - float(mean_unit @ mean_unit)) / 2.0


def cosine_distance_matrix(a, b=None) -> np.ndarray:
    """(1 - cos)/2 between every row of ``a`` (k, C) and every row of ``b`` (m, C; default
    ``a``): a (k, m) float64 array. Zero rows are at 0.5 from everything (see module doc)."""
    a = as_float64(a)
    b = a if b is None else as_float64(b)
    out = cdist(a, b, "cosine") / 2.0 if a.size and b.size else np.zeros((len(a), len(b)))
    zero_a = ~(_norms(a) > ZERO_NORM)  # cdist says NaN there
    out[zero_a] = 0.5
    out[:, zero_a if b is a else ~(_norms(b) > ZERO_NORM)] = 0.5
    return out


# ------------------------------------------------------------------- distributions and entropy


def rows_are_distributions(rows, atol: float = 1e-4) -> bool:
    """True when every row is non-negative and sums to 1, both within ``atol`` (softmax forms)."""
    a = as_float64(rows)
    # min, not (a >= -atol).all(): no (N, N') temporary; a NaN fails both comparisons alike
    return bool(a.min(initial=0.0) >= -atol and np.allclose(a.sum(axis=1), 1.0, atol=atol))


def _x_log_x(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """x log x with 0 log 0 = 0, written into ``out`` (a buffer other than ``x``): numpy's
    vectorised log, twice as fast as ``scipy.special.entr``. Entries below the smallest normal
    float give x log(tiny) instead of x log x: both are below 1e-300 in size."""
    out = np.maximum(x, _TINY, out=out)
    np.log(out, out=out)
    out *= x
    return out


def entropy(p, axis: int = -1) -> np.ndarray:
    """-sum p log p along ``axis`` (nats), not renormalised; entries <= 0 count as 0 (the small
    negatives :func:`rows_are_distributions` lets through)."""
    return -_x_log_x(np.maximum(as_float64(p), 0.0)).sum(axis=axis)


def mean_row_distribution(rows) -> np.ndarray:
    """The mean of the (N, K) attention rows over queries as a distribution over keys: ``|mean|``
    normalised, so signed dot-product rows read the same way as softmax rows; an all-zero mean
    reads as uniform (no key preferred)."""
    mean = np.abs(as_float64(rows).mean(axis=0))
    total = mean.sum()
    return mean / total if total > 0 else np.full(mean.shape, 1.0 / mean.size)


def mean_row_peak(rows) -> float:
    """The mean row's strongest key over a uniform share, max_j p_j * K (1 = uniform).

    The numpy twin of :func:`viz.analysis.training_stats.mean_row_peak` (why it exists is said there);
    the two differ only on an all-zero mean row (the torch twin gives 0).
    """
    p = mean_row_distribution(rows)
    return float(p.max() * p.size)


def mean_row_entropy(rows) -> float:
    """Entropy of the mean row over log K (1 = uniform): the numpy twin of
    :func:`viz.analysis.training_stats.mean_row_entropy`."""
    p = mean_row_distribution(rows)
    return float(entropy(p) / math.log(p.size)) if p.size > 1 else 1.0


# ------------------------------------------------------------------------ Jensen-Shannon divergence
#
# JSD(p, q) = (sum p log p + sum q log q) / 2 - sum m log m with m = (p + q) / 2. Only the last term
# needs the pair, but it needs all N' keys of it: the exact mean over N rows is O(N^2 N').


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


def _neg_entropy(p: np.ndarray, memory_budget: int) -> np.ndarray:
    """sum_k p log p of every row, in row blocks: x log x over all of p at once is a second
    (N, N') copy (134 MB at N = N' = 4096)."""
    rows = max(1, memory_budget // (8 * max(p.shape[1], 1)))
    out = np.empty(p.shape[0])
    for r0 in range(0, p.shape[0], rows):
        block = p[r0 : r0 + rows]
        out[r0 : r0 + rows] = _x_log_x(block).sum(axis=1)
    return out


def _jsd_pair_sums(p: np.ndarray, memory_budget: int, full_matrix: bool):
    """Sum of JSD over all ordered pairs (and optionally the full matrix), in blocks of rows.

    A block with itself computes each unordered pair once (self-pairs are 0): that halves the
    work of the pins (one block) and saves ~10 % of the mean at N = 196."""
    n, n_keys = p.shape
    neg_entropy = _neg_entropy(p, memory_budget)  # sum_k p log p
    block = _block_size(n_keys, memory_budget)
    total = 0.0
    matrix = np.zeros((n, n)) if full_matrix else None
    # Two block buffers reused for every block: freeing and re-allocating ~32 MB arrays lets glibc
    # keep freed blocks resident (its dynamic mmap threshold), which tripled the measured peak RSS.
    size = min(block, n) ** 2 * n_keys
    buf_m, buf_l = np.empty(size), np.empty(size)
    for i0 in range(0, n, block):
        pi, ei = p[i0 : i0 + block], neg_entropy[i0 : i0 + block]
        for j0 in range(i0, n, block):
            pj, ej = p[j0 : j0 + block], neg_entropy[j0 : j0 + block]
            if i0 == j0:  # pairs a < b, gathered into the two buffers (no other copy)
                a, b = np.triu_indices(len(pi), 1)
                shape = (a.size, n_keys)
                m = np.take(pi, a, axis=0, out=buf_m[: a.size * n_keys].reshape(shape))
                m += np.take(pi, b, axis=0, out=buf_l[: m.size].reshape(shape))
                half = 0.5 * (ei[a] + ei[b])
            else:  # every pair of the two blocks, by broadcasting
                shape = (len(pi), len(pj), n_keys)
                m = np.add(
                    pi[:, None, :], pj[None, :, :], out=buf_m[: math.prod(shape)].reshape(shape)
                )
                half = 0.5 * (ei[:, None] + ej[None, :])
            m *= 0.5
            jsd = half - _x_log_x(m, out=buf_l[: m.size].reshape(shape)).sum(axis=-1)
            np.maximum(jsd, 0.0, out=jsd)
            total += 2.0 * float(jsd.sum())  # each pair stands for both orders
            if matrix is not None and i0 == j0:
                matrix[i0 + a, i0 + b] = matrix[i0 + b, i0 + a] = jsd
            elif matrix is not None:
                matrix[i0 : i0 + block, j0 : j0 + block] = jsd
                matrix[j0 : j0 + block, i0 : i0 + block] = jsd.T
    return total, matrix


def mean_jsd(rows, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> float:
    """Mean Jensen-Shannon divergence over all N*N ordered pairs of the (N, N') distributions,
    exact: every unordered pair once, in float64 blocks sized for the cache and ``memory_budget``
    bytes (~200 M pair-keys/s here; see :func:`sampled_mean_jsd` for large N)."""
    p = as_float64(rows)
    total, _ = _jsd_pair_sums(p, memory_budget, full_matrix=False)
    return total / (p.shape[0] ** 2)


def jsd_matrix(rows, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> np.ndarray:
    """JSD between every pair of the (k, N') distributions: a (k, k) float64 array."""
    _, matrix = _jsd_pair_sums(as_float64(rows), memory_budget, full_matrix=True)
    return matrix


def _sample_chunk(n_keys: int, memory_budget: int) -> int:
    # pairs per chunk: two chunk x N' float64 gathers alive at once (m, then m log m, and p_j),
    # with room for two more (the allocator's slack between chunks)
    return max(1, memory_budget // (4 * 8 * max(n_keys, 1)))


def _draw_pairs(n: int, pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``pairs`` ordered pairs (i, j), i != j, uniform with replacement, seeded."""
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, pairs)
    return i, (i + rng.integers(1, n, pairs)) % n  # j uniform over the others


def sampled_mean_jsd(
    rows,
    pairs: int = DEFAULT_SAMPLE_PAIRS,
    seed: int = 0,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> tuple[float, float]:
    """Estimate of :func:`mean_jsd` from random ordered pairs i != j: O(pairs * N'), not O(N^2 N').

    Args:
        rows: (N, N') distributions, N >= 2.
        pairs: number of ordered pairs drawn (uniformly, with replacement, self-pairs excluded).
        seed: seed of the pair draw (same input and seed -> same estimate).
        memory_budget: bytes for one chunk of sampled pairs.

    Returns:
        (estimate, standard error) of the mean over all N^2 ordered pairs, self-pairs (JSD = 0)
        accounted for exactly by the factor (N - 1) / N.
    """
    p = as_float64(rows)
    n, n_keys = p.shape
    if n < 2 or pairs < 2:
        raise ValueError(f"need N >= 2 rows and pairs >= 2, got N = {n}, pairs = {pairs}")
    i, j = _draw_pairs(n, pairs, seed)
    # sum p log p once per row (N N'), not twice per pair (2 * pairs * N'): a third of the logs
    neg_entropy = _neg_entropy(p, memory_budget)
    half = 0.5 * (neg_entropy[i] + neg_entropy[j])
    values = np.empty(pairs)
    chunk = _sample_chunk(n_keys, memory_budget)
    for s0 in range(0, pairs, chunk):
        m = p[i[s0 : s0 + chunk]]  # the gather copies, so in place is safe
        m += p[j[s0 : s0 + chunk]]
        m *= 0.5
        cross = _x_log_x(m).sum(axis=1)
        values[s0 : s0 + chunk] = np.maximum(half[s0 : s0 + chunk] - cross, 0.0)
    scale = (n - 1) / n
    return float(values.mean()) * scale, float(values.std(ddof=1)) / math.sqrt(pairs) * scale


# ------------------------------------------------------------------------------- bilinear resize


@functools.lru_cache(maxsize=64)
def _resize_weights(n_in: int, n_out: int) -> sparse.csr_array:
    """(n_out, n_in) weights of Pillow's bilinear filter: a triangle over half-pixel centres,
    widened by the shrink factor when shrinking (antialiasing), renormalised at the edges (which
    clamps to the edge pixel when enlarging). Sparse, so a NaN only reaches the outputs whose
    triangle covers it."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centre = (np.arange(n_out) + 0.5) * scale
    w = np.maximum(1.0 - np.abs((np.arange(n_in) + 0.5 - centre[:, None]) / support), 0.0)
    return sparse.csr_array(w / w.sum(axis=1, keepdims=True))


def resize_bilinear(a, out_hw) -> np.ndarray:
    """Bilinear resize, half-pixel centres, antialiased when shrinking: Pillow's ``BILINEAR`` and
    torch's ``interpolate(mode="bilinear", antialias=True)``; when enlarging also skimage's
    ``resize(order=1, mode="edge")``.

    Args:
        a: an (h, w) map, read as float64; or a uint8 picture, (h, w) or (h, w, 3|4).
        out_hw: (H, W) output size.

    Returns:
        (H, W) float64 for a map. A uint8 picture stays uint8, (H, W[, c]), resized by Pillow's
        C code (the same filter in fixed point, off by at most one level): photos are large, and
        8-bit values need no float64.
    """
    oh, ow = (int(v) for v in out_hw)
    if oh < 1 or ow < 1:
        raise ValueError(f"resize_bilinear: expected positive sizes, got {(oh, ow)}")
    if isinstance(a, np.ndarray) and a.dtype == np.uint8 and a.ndim in (2, 3) and a.size:
        from PIL import Image

        return np.asarray(Image.fromarray(a).resize((ow, oh), Image.Resampling.BILINEAR))
    src = as_float64(a)
    if src.ndim != 2 or src.size == 0:
        raise ValueError(f"resize_bilinear: expected a non-empty 2-D map, got shape {src.shape}")
    if src.shape == (oh, ow):
        return src.copy()
    rows = _resize_weights(src.shape[0], oh) @ src  # (H, w)
    return np.ascontiguousarray((_resize_weights(src.shape[1], ow) @ rows.T).T)
