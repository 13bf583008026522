"""GCNet's Table-1 statistics: how much do Non-local inputs, outputs and attention maps differ
between positions?

For vectors v_1..v_N (one per position), GCNet reports d = (1 - cos(v_i, v_j)) / 2 averaged over all
N*N ordered pairs, self-pairs included, and for attention rows that are distributions the mean
Jensen-Shannon divergence. The measures themselves are in :mod:`viz.analysis.numpy_stats`; this
module chooses how to get the JSD and assembles one image's statistics.

Cost. The mean cosine needs no pairs (O(N C)). The exact JSD is O(N^2 N') — measured at ~200 M
pair-keys/s on this 2-core machine, N = 4096 would take minutes. Hence two methods, chosen per call:

- ``exact``: every unordered pair, in float64 blocks whose working set is bounded by
  ``memory_budget`` bytes (64 MiB by default). The default when the work N(N-1)/2 * N' is at most
  ``EXACT_MAX_WORK`` (about a second; N = 784 with all keys is exact).
- ``sampled``: ``sample_pairs`` ordered pairs i != j drawn uniformly with replacement (seeded, so
  a call is reproducible), their JSD exact in float64. Self-pairs contribute exactly 0, so the mean
  over all N^2 pairs is (1 - 1/N) times the mean over i != j; the 95 % interval is
  mean +- 1.96 SE (central limit over i.i.d. bounded samples). O(pairs * N'): N = N' = 4096 in
  a few seconds, against ~15 min exact under load.

``exact=True`` forces the exact method, ``exact=False`` the sampled one. Zero vectors follow
``torch.cosine_similarity``: cos = 0 with everything.

Run ``python -m viz stats IMAGE_DIR --backbone NAME`` for the statistics over a folder of images.
"""

from __future__ import annotations

import math

import numpy as np

from viz.analysis.numpy_stats import (
    DEFAULT_MEMORY_BUDGET,
    DEFAULT_SAMPLE_PAIRS,
    as_float64,
    mean_cosine_distance,
    mean_jsd,
    rows_are_distributions,
    sampled_mean_jsd,
)

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "DEFAULT_SAMPLE_PAIRS",
    "EXACT_MAX_WORK",
    "mean_map",
    "query_independence",
    "record_statistics",
    "use_exact_jsd",
]

# Above this many pair-keys (N(N-1)/2 * N') the exact JSD costs more than ~1 s here: sample instead.
EXACT_MAX_WORK = 250_000_000
Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def use_exact_jsd(n: int, n_keys: int, max_work: int | None = None) -> bool:
    """True when the exact JSD over all N(N-1)/2 pairs is affordable (the automatic choice).

    Args:
        n: rows (queries).
        n_keys: columns (keys) N'.
        max_work: largest N(N-1)/2 * N' computed exactly (``EXACT_MAX_WORK`` when None).
    """
    return n * (n - 1) // 2 * n_keys <= (EXACT_MAX_WORK if max_work is None else max_work)


def mean_map(attention) -> np.ndarray:
    """The attention row averaged over all queries (N',): what a query-independent block would use."""
    return as_float64(attention).mean(axis=0)


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
    att = as_float64(attention)
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
