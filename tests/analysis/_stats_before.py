"""The numpy/torch statistics and resizers as they were before they moved to
``viz.analysis.numpy_stats`` (commit 9f60711; ``query_reading`` at 8b4a46a), copied verbatim
(names prefixed by their old module): the reference ``test_numpy_stats.py`` compares the new code to, and
``bench/numpy_stats.py`` times it against. Nothing in ``viz`` imports this.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from skimage.transform import resize

from viz.analysis.pins import PinnedStatistics

# ------------------------------------------------------------ viz/analysis/stats.py (torch; now viz/analysis/table1.py)

DEFAULT_MEMORY_BUDGET = 64 * 2**20
CACHE_BYTES = 2 * 1024 * 1024


def _as_tensor(a) -> torch.Tensor:
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    return t.detach().to(torch.float64).cpu()


def _unit_rows(v: torch.Tensor) -> torch.Tensor:
    norms = v.norm(dim=1, keepdim=True)
    return torch.where(norms > 1e-12, v / norms.clamp_min(1e-12), torch.zeros_like(v))


def stats_mean_cosine_distance(vectors) -> float:
    v = _as_tensor(vectors)
    norms = v.norm(dim=1)
    inv = torch.where(norms > 1e-12, 1.0 / norms.clamp_min(1e-12), torch.zeros_like(norms))
    mean_unit = (inv @ v) / v.shape[0]
    mean_cos = float(mean_unit @ mean_unit)
    return (1.0 - mean_cos) / 2.0


def stats_cosine_distance_matrix(vectors) -> np.ndarray:
    u = _unit_rows(_as_tensor(vectors))
    return ((1.0 - u @ u.T) / 2.0).numpy()


def stats_rows_are_distributions(attention, atol: float = 1e-4) -> bool:
    a = _as_tensor(attention)
    return bool(
        (a >= -atol).all()
        and torch.allclose(a.sum(dim=1), torch.ones(a.shape[0], dtype=a.dtype), atol=atol)
    )


def _block_size(n_keys: int, memory_budget: int) -> int:
    per_pair = 8 * (2 * n_keys + 4)
    by_memory = max(1, int(math.isqrt(max(memory_budget // per_pair, 1))))
    by_cache = max(16, int(math.isqrt(max(CACHE_BYTES // per_pair, 1))))
    return min(by_memory, by_cache)


_TINY = torch.finfo(torch.float64).tiny


def _x_log_x(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    out = torch.clamp_min(x, _TINY, out=out) if out is not None else x.clamp_min(_TINY)
    return out.log_().mul_(x)


def _neg_entropy(p: torch.Tensor, memory_budget: int) -> torch.Tensor:
    rows = max(1, memory_budget // (8 * max(p.shape[1], 1)))
    return torch.cat([_x_log_x(b).sum(dim=1) for b in p.split(rows)])


def _jsd_pair_sums(p: torch.Tensor, memory_budget: int, full_matrix: bool):
    n, n_keys = p.shape
    neg_entropy = _neg_entropy(p, memory_budget)
    block = _block_size(n_keys, memory_budget)
    total = 0.0
    matrix = torch.zeros(n, n, dtype=p.dtype) if full_matrix else None
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
            weight = 1.0 if i0 == j0 else 2.0
            total += weight * float(jsd.sum())
            if matrix is not None:
                matrix[i0 : i0 + block, j0 : j0 + block] = jsd
                matrix[j0 : j0 + block, i0 : i0 + block] = jsd.T
    return total, matrix


def stats_mean_jsd(attention, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> float:
    p = _as_tensor(attention)
    total, _ = _jsd_pair_sums(p, memory_budget, full_matrix=False)
    return total / (p.shape[0] ** 2)


def stats_jsd_matrix(rows, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> np.ndarray:
    _, matrix = _jsd_pair_sums(_as_tensor(rows), memory_budget, full_matrix=True)
    return matrix.numpy()


def _sample_chunk(n_keys: int, memory_budget: int) -> int:
    return max(1, memory_budget // (4 * 8 * max(n_keys, 1)))


def stats_sampled_mean_jsd_of_pairs(
    attention, i: torch.Tensor, j: torch.Tensor, memory_budget: int = DEFAULT_MEMORY_BUDGET
) -> tuple[float, float]:
    """``sampled_mean_jsd`` after its pair draw (torch's generator then, numpy's now)."""
    p = _as_tensor(attention)
    n, n_keys = p.shape
    pairs = len(i)
    neg_entropy = _neg_entropy(p, memory_budget)
    half = 0.5 * (neg_entropy[i] + neg_entropy[j])
    values = torch.empty(pairs, dtype=p.dtype)
    chunk = _sample_chunk(n_keys, memory_budget)
    for s0 in range(0, pairs, chunk):
        ii, jj = i[s0 : s0 + chunk], j[s0 : s0 + chunk]
        m = p[ii].add_(p[jj]).mul_(0.5)
        cross = _x_log_x(m).sum(dim=1)
        values[s0 : s0 + chunk] = (half[s0 : s0 + chunk] - cross).clamp_min(0.0)
    scale = (n - 1) / n
    mean = float(values.mean()) * scale
    se = float(values.std(correction=1)) / math.sqrt(pairs) * scale
    return mean, se


# ------------------------------------------------------------------ viz/analysis/pins.py (numpy)


def pins_cosine_distances(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 1e-12)
    return (1.0 - unit @ unit.T) / 2.0


def _plogp(p: np.ndarray) -> np.ndarray:
    return p * np.log(p, out=np.zeros_like(p), where=p > 0)


def pins_jsd_matrix(rows: np.ndarray) -> np.ndarray:
    mix = (rows[:, None, :] + rows[None, :, :]) / 2.0
    own = _plogp(rows).sum(axis=1)
    return (own[:, None] + own[None, :]) / 2.0 - _plogp(mix).sum(axis=2)


def pins_are_distributions(att: np.ndarray, atol: float = 1e-4) -> bool:
    return bool((att >= -atol).all() and np.allclose(att.sum(axis=1), 1.0, atol=atol))


def pins_entropy(p: np.ndarray) -> np.ndarray:
    """The pins' entropy before its division by log N'."""
    return -_plogp(p).sum(axis=1)


def pins_pinned_statistics(attention, queries, grid_hw, keys_hw) -> PinnedStatistics:
    h, w = grid_hw
    kh, kw = keys_hw
    att = np.asarray(attention, dtype=np.float64)
    qs = tuple((int(r), int(c)) for r, c in queries if 0 <= r < h and 0 <= c < w)
    rows = att[[r * w + c for r, c in qs]] if qs else np.zeros((0, att.shape[1]))
    distributions = bool(qs) and pins_are_distributions(att)
    entropy = None
    jsd = None
    if distributions:
        p = np.clip(rows, 0.0, None)
        entropy = tuple(float(v) for v in -_plogp(p).sum(axis=1) / np.log(max(att.shape[1], 2)))
        jsd = pins_jsd_matrix(p)
    peak_idx = rows.argmax(axis=1) if qs else np.zeros(0, dtype=int)
    return PinnedStatistics(
        queries=qs,
        rows=rows,
        entropy=entropy if qs else None,
        peak=tuple(float(rows[i, j]) for i, j in enumerate(peak_idx)),
        peak_key=tuple((int(j // kw), int(j % kw)) for j in peak_idx),
        cosine=pins_cosine_distances(rows) if qs else np.zeros((0, 0)),
        jsd=jsd,
    )


# ------------------------------------------------------ viz/analysis/row_maps.py, dnl.py (numpy)


def row_maps_mean_row_entropy(attention: np.ndarray) -> float | None:
    att = np.asarray(attention, dtype=np.float64)
    if att.shape[1] < 2 or not stats_rows_are_distributions(att):
        return None
    p = att.mean(axis=0)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(att.shape[1]))


def row_maps_softmax(u: np.ndarray) -> np.ndarray:
    """``unary_only_map``'s softmax (its input is the scaled unary term, float64)."""
    e = np.exp(u - u.max())
    return e / e.sum()


def row_maps_mean_distance_to(rows: np.ndarray, target: np.ndarray) -> float | None:
    rows = np.asarray(rows, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64).ravel()
    tn = float(np.linalg.norm(target))
    if tn == 0:
        return None
    norms = np.linalg.norm(rows, axis=1)
    cos = np.where(norms > 0, rows @ target / np.maximum(norms, 1e-300) / tn, 0.0)
    return float(((1.0 - cos) / 2.0).mean())


def dnl_softmax(unary: np.ndarray) -> np.ndarray:
    """``dnl_maps``'s shared map for the softmax forms."""
    u = unary - unary.max()
    return np.exp(u) / np.exp(u).sum()


# ----------------------------------------------- viz/analysis/query_reading.py (numpy, 8b4a46a)


def query_reading_mean_row_distribution(rows: np.ndarray) -> np.ndarray:
    mean = np.abs(np.asarray(rows, dtype=np.float64).mean(axis=0))
    total = mean.sum()
    return mean / total if total > 0 else np.full(mean.shape, 1.0 / mean.size)


def query_reading_mean_row_peak(rows: np.ndarray) -> float:
    p = query_reading_mean_row_distribution(rows)
    return float(p.max() * p.size)


def query_reading_mean_row_entropy(rows: np.ndarray) -> float:
    p = query_reading_mean_row_distribution(rows)
    if p.size < 2:
        return 1.0
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum() / math.log(p.size))


# ------------------------------------------------------------- viz/analysis/attribution.py


def attribution_resize_map(m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    a = np.asarray(m, dtype=np.float32)
    if a.shape == tuple(shape):
        return a.copy()
    t = torch.from_numpy(np.ascontiguousarray(a))[None, None]
    shrink = shape[0] < a.shape[0] or shape[1] < a.shape[1]
    r = F.interpolate(t, size=tuple(shape), mode="bilinear", align_corners=False, antialias=shrink)
    return r[0, 0].numpy()


def attribution_map_correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    shape = a.shape if a.size <= b.size else b.shape
    ra = attribution_resize_map(a, shape).astype(np.float64).ravel()
    rb = attribution_resize_map(b, shape).astype(np.float64).ravel()
    ra -= ra.mean()
    rb -= rb.mean()
    na, nb = math.sqrt(float(ra @ ra)), math.sqrt(float(rb @ rb))
    if na <= 1e-9 * np.abs(a).max() * math.sqrt(ra.size) or na == 0.0:
        return float("nan")
    if nb <= 1e-9 * np.abs(b).max() * math.sqrt(rb.size) or nb == 0.0:
        return float("nan")
    return float(np.clip((ra @ rb) / (na * nb), -1.0, 1.0))


# -------------------------------------------------- viz/figures/raster.py, explorer_payload.py


def raster_resize_bilinear(src: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    if src.shape == tuple(out_hw):
        return src
    return resize(src, out_hw, order=1, mode="edge", anti_aliasing=False, preserve_range=True)


def raster_colour_panel_resize(heat, out_hw) -> np.ndarray:
    """``colour_panel``'s resize, before its colouring."""
    oh, ow = out_hw
    return np.asarray(
        Image.fromarray(np.asarray(heat, dtype=np.float32), mode="F").resize(
            (ow, oh), Image.Resampling.BILINEAR
        )
    )


def raster_downscaled(img: np.ndarray, max_side: int) -> np.ndarray:
    ih, iw = img.shape[:2]
    scale = min(1.0, max_side / max(ih, iw))
    if scale >= 1.0:
        return img
    size = (max(1, round(iw * scale)), max(1, round(ih * scale)))
    return np.asarray(Image.fromarray(img).resize(size, Image.Resampling.BILINEAR))


def explorer_payload_block_mean(grid: np.ndarray, factor: int) -> np.ndarray:
    if factor <= 1:
        return np.asarray(grid, dtype=np.float64)
    a = np.asarray(grid, dtype=np.float64)
    h, w = a.shape[-2:]
    rows, cols = np.arange(0, h, factor), np.arange(0, w, factor)
    sums = np.add.reduceat(np.add.reduceat(a, rows, axis=-2), cols, axis=-1)
    counts = np.outer(np.diff(np.append(rows, h)), np.diff(np.append(cols, w)))
    return sums / counts
