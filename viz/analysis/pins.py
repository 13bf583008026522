"""Statistics of the Non-local queries a user pinned: how alike their maps are, and each map's
spread and peak. The page shows them beside the explorer and exports them (CSV, .npz)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from viz.analysis.numpy_stats import (
    cosine_distance_matrix,
    entropy,
    jsd_matrix,
    rows_are_distributions,
)


@dataclass(frozen=True)
class PinnedStatistics:
    """The pinned queries' rows compared.

    Args:
        queries: the pins, (row, col) on the query grid, in pin order.
        rows: (P, N') their exact attention rows.
        entropy: per pin, entropy / log N' (1 = uniform); None when rows are not distributions.
        peak: per pin, the largest weight.
        peak_key: per pin, (row, col) of that weight on the key grid.
        cosine: (P, P) (1 - cos)/2 between the pinned rows.
        jsd: (P, P) Jensen-Shannon divergence (nats), None when rows are not distributions.
    """

    queries: tuple[tuple[int, int], ...]
    rows: np.ndarray
    entropy: tuple[float, ...] | None
    peak: tuple[float, ...]
    peak_key: tuple[tuple[int, int], ...]
    cosine: np.ndarray
    jsd: np.ndarray | None

    def mean_pair(self, matrix: np.ndarray | None) -> float | None:
        """Mean over the distinct pairs of pins (None with fewer than two pins)."""
        p = len(self.queries)
        if matrix is None or p < 2:
            return None
        return float(matrix[np.triu_indices(p, 1)].mean())

    def table(self) -> list[dict]:
        """One row per pin (for a table and the CSV); "... to others" is the mean over the other
        pins."""
        out = []
        for i, (r, c) in enumerate(self.queries):
            others = [j for j in range(len(self.queries)) if j != i]
            out.append(
                {
                    "pin": i + 1,
                    "query": f"({r}, {c})",
                    "entropy": None if self.entropy is None else self.entropy[i],
                    "peak": self.peak[i],
                    "peak key": f"({self.peak_key[i][0]}, {self.peak_key[i][1]})",
                    "(1-cos)/2 to others": (
                        float(self.cosine[i, others].mean()) if others else None
                    ),
                    "JSD to others": (
                        float(self.jsd[i, others].mean())
                        if others and self.jsd is not None
                        else None
                    ),
                }
            )
        return out


def pinned_statistics(
    attention: np.ndarray,
    queries: Sequence[tuple[int, int]],
    grid_hw: tuple[int, int],
    keys_hw: tuple[int, int],
) -> PinnedStatistics:
    """Compare the pinned queries' attention rows.

    Args:
        attention: (N, N') rows = queries.
        queries: the pins (row, col); ones outside the grid are dropped.
        grid_hw: (h, w) query grid; keys_hw: (kh, kw) key grid.
    """
    h, w = grid_hw
    kh, kw = keys_hw
    att = np.asarray(attention, dtype=np.float64)
    qs = tuple((int(r), int(c)) for r, c in queries if 0 <= r < h and 0 <= c < w)
    rows = att[[r * w + c for r, c in qs]] if qs else np.zeros((0, att.shape[1]))
    # numpy, not torch: a pin reruns this, and tiny torch ops cost ~10 ms each while the
    # forward's OpenMP threads still spin (measured: 35 ms vs 0.3 ms per pin)
    distributions = bool(qs) and rows_are_distributions(att)
    spread = None
    jsd = None
    if distributions:
        p = np.clip(rows, 0.0, None)
        spread = tuple(float(v) for v in entropy(p) / np.log(max(att.shape[1], 2)))
        jsd = jsd_matrix(p)
    peak_idx = rows.argmax(axis=1) if qs else np.zeros(0, dtype=int)
    return PinnedStatistics(
        queries=qs,
        rows=rows,
        entropy=spread if qs else None,
        peak=tuple(float(rows[i, j]) for i, j in enumerate(peak_idx)),
        peak_key=tuple((int(j // kw), int(j % kw)) for j in peak_idx),
        cosine=cosine_distance_matrix(rows),
        jsd=jsd,
    )


def pinned_npz(stats: PinnedStatistics, keys_hw: tuple[int, int], **meta: str) -> bytes:
    """The pins as an .npz: ``queries`` (P, 2), ``maps`` (P, kh, kw), ``cosine`` and ``jsd``
    (P, P; jsd absent when rows are not distributions) and the given text fields."""
    buf = io.BytesIO()
    arrays = {
        "queries": np.asarray(stats.queries, dtype=np.int64).reshape(-1, 2),
        "maps": stats.rows.reshape(len(stats.queries), *keys_hw).astype(np.float32),
        "cosine": stats.cosine,
        **{k: np.asarray(v) for k, v in meta.items()},
    }
    if stats.jsd is not None:
        arrays["jsd"] = stats.jsd
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()
