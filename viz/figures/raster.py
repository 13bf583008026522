"""From numbers to pixels for every figure that sends an image: colour maps, blending,
down-scaling, JPEG/PNG data URIs.
"""

from __future__ import annotations

import base64
import functools
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from plotly.colors import qualitative

from viz.analysis.numpy_stats import resize_bilinear


def array(a: Any, ndim: int | tuple[int, ...], what: str) -> np.ndarray:
    """float64 copy of ``a`` with the expected rank; leading singleton batch axes are dropped."""
    if a is None:
        raise ValueError(f"{what}: got None")
    arr = np.asarray(a, dtype=np.float64)
    dims = (ndim,) if isinstance(ndim, int) else ndim
    while arr.ndim > max(dims) and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim not in dims or arr.size == 0:
        raise ValueError(
            f"{what}: expected a non-empty {'/'.join(map(str, dims))}-D array, got shape {arr.shape}"
        )
    return arr


def rgb_image(image: Any) -> np.ndarray:
    """(H, W, 3) uint8 from uint8 or float [0, 1] / [0, 255] RGB(A) or grey arrays."""
    if image is None:
        raise ValueError("image: got None")
    img = np.asarray(image)
    if img.ndim == 4 and img.shape[0] == 1:
        img = img[0]
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4) or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"image: expected an (H, W, 3) array, got shape {img.shape}")
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    img = img[..., :3]
    if img.dtype != np.uint8:
        f = np.nan_to_num(img.astype(np.float64))
        if f.max(initial=0.0) <= 1.0:
            f = f * 255.0
        img = np.clip(np.rint(f), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def finite_range(*arrays: np.ndarray) -> tuple[float, float]:
    vals = [a[np.isfinite(a)] for a in arrays]
    vals = [v for v in vals if v.size]
    if not vals:
        return 0.0, 1.0
    lo = float(min(v.min() for v in vals))
    hi = float(max(v.max() for v in vals))
    if hi <= lo:
        hi = lo + 1e-12
    return lo, hi


def fmt_num(value: Any, digits: int = 3, none: str = "–") -> str:
    """``value`` with ``digits`` decimals; a value that rounds to zero is written "0.000", never
    "-0.000" (float error makes tiny negatives, e.g. a distance of -1e-9); None / NaN -> ``none``."""
    if value is None:
        return none
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return none if math.isnan(v) else ("∞" if v > 0 else "-∞")
    text = f"{v:.{digits}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text


def in_unit_interval(a: np.ndarray) -> bool:
    f = a[np.isfinite(a)]
    return bool(f.size) and float(f.min()) >= 0.0 and float(f.max()) <= 1.0


def minmax(a: np.ndarray) -> np.ndarray:
    lo, hi = finite_range(a)
    return (a - lo) / (hi - lo) if hi - lo > 1e-12 else np.zeros_like(a)


def encode_jpeg(img: np.ndarray) -> str | None:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a requirement
        return None
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def categorical_colorscale(n: int) -> list[list[Any]]:
    palette = qualitative.Light24 if n > 10 else qualitative.Plotly
    scale: list[list[Any]] = []
    for k in range(n):
        color = palette[k % len(palette)]
        scale.append([k / n, color])
        scale.append([(k + 1) / n, color])
    return scale


def png_uri(rgba: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def downscaled(img: np.ndarray, max_side: int) -> np.ndarray:
    """``img`` (a uint8 picture) with its long side at most ``max_side`` px, bilinear; as is when
    it is already that small."""
    ih, iw = img.shape[:2]
    scale = min(1.0, max_side / max(ih, iw))
    if scale >= 1.0:
        return img
    return resize_bilinear(img, (max(1, round(ih * scale)), max(1, round(iw * scale))))


@functools.lru_cache(maxsize=8)
def colour_lut(colorscale: str) -> np.ndarray:
    """256 colours of a plotly colour scale, (256, 3) float."""
    from plotly.colors import get_colorscale, sample_colorscale, unlabel_rgb

    samples = sample_colorscale(get_colorscale(colorscale), list(np.linspace(0, 1, 256)))
    return np.array([unlabel_rgb(c) for c in samples], dtype=float)


def colorize(heat: np.ndarray, colorscale: str = "Viridis", lo=None, hi=None) -> np.ndarray:
    """(h, w) map -> (h, w, 3) uint8 colours of a plotly colour scale (min-max unless lo / hi)."""
    a = array(heat, 2, "colorize: heat")
    flo, fhi = finite_range(a)
    lo = flo if lo is None else float(lo)
    hi = fhi if hi is None else float(hi)
    t = np.clip((np.nan_to_num(a, nan=lo) - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    lut = colour_lut(colorscale)  # one fancy index: no per-pixel colour parsing
    return np.clip(np.rint(lut[np.rint(t * 255).astype(int)]), 0, 255).astype(np.uint8)


def blend(image: np.ndarray, heat: np.ndarray, opacity: float, lo=None, hi=None, *, side=160):
    """The photo at ``side`` px with ``heat`` (bilinear on its grid) blended over it: (s, s', 3)."""
    small = downscaled(rgb_image(image), side).astype(np.float64)
    up = resize_bilinear(array(heat, 2, "blend: heat"), small.shape[:2])
    colours = colorize(up, lo=lo, hi=hi).astype(np.float64)
    a = float(np.clip(opacity, 0.0, 1.0))
    return np.clip(np.rint((1 - a) * small + a * colours), 0, 255).astype(np.uint8)


def colour_panel(heat, out_hw, colorscale, lo, hi) -> np.ndarray:
    """(h, w) map -> colours at ``out_hw``: resized (bilinear) and then coloured; (H, W, 3)
    float64."""
    return colorize(resize_bilinear(heat, out_hw), colorscale, lo, hi).astype(np.float64)


def grid_shape(grid_hw: Sequence[int], what: str = "grid_hw") -> tuple[int, int]:
    try:
        h, w = (int(v) for v in grid_hw)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected (rows, cols), got {grid_hw!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"{what}: expected positive sizes, got {(h, w)}")
    return h, w
