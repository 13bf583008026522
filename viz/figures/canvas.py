"""The canvas a map is drawn on: the user's own picture at its own aspect ratio with the model's
crop box (:class:`Picture`), the picture trace (outside the box dimmed, baked into its one JPEG),
the box outline, and heat maps placed on the box.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go

from viz.figures.raster import (
    array,
    colour_panel,
    downscaled,
    encode_jpeg,
    resize_bilinear,
    rgb_image,
)

Box = tuple[float, float, float, float]

DIM = 0.45  # brightness kept outside the model's crop

OUTLINE = dict(color="rgba(255,60,60,0.95)", width=2)


@dataclass(frozen=True, eq=False)
class Picture:
    """What maps are drawn over: ``image`` (H, W, 3) uint8 and ``box``, the region the model saw
    in its pixel edges (x0, y0, x1, y1). The whole image when only the crop is known.

    Build it with :func:`as_picture`; no ``==`` (the image is an array). ``whole`` is True when
    ``image`` is the user's picture, False when it is only the crop the model saw.
    """

    image: np.ndarray
    box: Box
    whole: bool = True

    @property
    def hw(self) -> tuple[int, int]:
        """(H, W) of the picture."""
        return self.image.shape[0], self.image.shape[1]

    @property
    def cropped(self) -> bool:
        """Whether the model saw less than the whole picture (then the box is outlined)."""
        ih, iw = self.hw
        x0, y0, x1, y1 = self.box
        return max(abs(x0), abs(y0), abs(x1 - iw), abs(y1 - ih)) > 0.5

    @property
    def extent_note(self) -> str:
        """What the panel shows, for subtitles."""
        if not self.whole:
            return f"the {self.hw[1]}×{self.hw[0]} px the model saw"
        if self.cropped:
            return "the model's crop (outlined) of your picture"
        return "your whole picture (the model saw all of it)"

    @property
    def axis_titles(self) -> tuple[str, str]:
        """(x, y) axis titles: pixels of the user's picture or of the crop."""
        if self.whole:
            return "x (px of your picture)", "y (px)"
        return "x (px the model saw)", "y (px)"

    def point(self, row: int, col: int, grid_hw: tuple[int, int]) -> tuple[float, float]:
        """Plot coordinates (pixel centres at integers) of the centre of a grid cell laid over
        the box; out-of-range cells clamp."""
        gh, gw = int(grid_hw[0]), int(grid_hw[1])
        r, c = min(max(int(row), 0), gh - 1), min(max(int(col), 0), gw - 1)
        x0, y0, x1, y1 = self.box
        return x0 + (c + 0.5) * (x1 - x0) / gw - 0.5, y0 + (r + 0.5) * (y1 - y0) / gh - 0.5


def as_picture(image: Any, display: Any = None, view_box: Box | None = None) -> Picture:
    """The user's picture with the model's box, or the crop alone when either is missing.

    Args:
        image: (h, w, 3) the pixels the model saw, or a :class:`Picture` (returned as is).
        display: (H, W, 3) the user's picture at its aspect ratio, or None.
        view_box: (x0, y0, x1, y1) of the model's crop in ``display`` pixels, or None.
    """
    if isinstance(image, Picture):
        return image
    if display is None or view_box is None:
        img = rgb_image(image)
        return Picture(img, (0.0, 0.0, float(img.shape[1]), float(img.shape[0])), whole=False)
    x0, y0, x1, y1 = (float(v) for v in view_box)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"view_box: expected x0 < x1 and y0 < y1, got {view_box!r}")
    return Picture(rgb_image(display), (x0, y0, x1, y1))


def dimmed(pic: Picture, img: np.ndarray | None = None) -> np.ndarray:
    """``img`` (default the picture; any size, same aspect) with everything outside the box
    darkened to ``DIM``: one set of pixels, no second image for the dimming."""
    img = pic.image if img is None else img
    if not pic.cropped:
        return img
    ih, iw = pic.hw
    sh, sw = img.shape[:2]
    x0, y0, x1, y1 = pic.box
    ys = (np.arange(sh) + 0.5) * ih / sh
    xs = (np.arange(sw) + 0.5) * iw / sw
    inside = ((ys >= y0) & (ys < y1))[:, None] & ((xs >= x0) & (xs < x1))[None, :]
    out = img.astype(np.float32)
    out[~inside] *= DIM
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def image_trace(img: np.ndarray | Picture, max_side: int, name: str = "image") -> go.Image:
    """The photo as a go.Image over its full pixel extent, embedded at most ``max_side`` px; a
    :class:`Picture` is drawn with the outside of its box dimmed."""
    pic = img if isinstance(img, Picture) else None
    img = pic.image if pic is not None else img
    ih, iw = img.shape[:2]
    small = downscaled(img, max_side)
    sh, sw = small.shape[:2]
    if pic is not None:
        small = dimmed(pic, small)
    dx, dy = iw / sw, ih / sh
    geom = dict(x0=0.5 * dx - 0.5, y0=0.5 * dy - 0.5, dx=dx, dy=dy)
    src = encode_jpeg(small)
    if src is not None:
        return go.Image(source=src, hoverinfo="skip", name=name, **geom)
    return go.Image(z=small, hoverinfo="skip", name=name, **geom)  # pragma: no cover


def outline_trace(pic: Picture, name: str = "model's crop") -> go.Scatter | None:
    """The crop box as a closed line (a trace, not a layout shape: cheap to rebuild); None when
    the model saw the whole picture."""
    if not pic.cropped:
        return None
    x0, y0, x1, y1 = (v - 0.5 for v in pic.box)
    return go.Scatter(
        x=[x0, x1, x1, x0, x0],
        y=[y0, y0, y1, y1, y0],
        mode="lines",
        line=OUTLINE,
        hoverinfo="skip",
        name=name,
        showlegend=False,
    )


def heat_trace(
    heat: np.ndarray,
    image_hw: tuple[int, int],
    *,
    heat_side: int,
    smooth: bool = True,
    opacity: float = 1.0,
    colorscale: str = "Viridis",
    zmin: float | None = None,
    zmax: float | None = None,
    coloraxis: str | None = None,
    colorbar_title: str = "",
    hover: bool = True,
    name: str = "map",
    box: Box | None = None,
) -> go.Heatmap:
    """A (h, w) map stretched over ``box`` (default the whole image extent): bilinear
    up-sampled, or one brick per cell."""
    ih, iw = image_hw
    bx0, by0, bx1, by1 = box if box is not None else (0.0, 0.0, float(iw), float(ih))
    bw, bh = bx1 - bx0, by1 - by0
    h, w = heat.shape
    if smooth:
        scale = min(1.0, heat_side / max(bh, bw))
        oh, ow = max(h, round(bh * scale)), max(w, round(bw * scale))
        oh, ow = max(min(oh, round(bh)), 1), max(min(ow, round(bw)), 1)
        z = resize_bilinear(heat, (oh, ow)) if (oh, ow) != (h, w) else heat
    else:
        z = heat
    zh, zw = z.shape
    dx, dy = bw / zw, bh / zh
    kw: dict[str, Any] = dict(
        z=z.astype(np.float32),
        x0=bx0 + 0.5 * dx - 0.5,
        dx=dx,
        y0=by0 + 0.5 * dy - 0.5,
        dy=dy,
        opacity=opacity,
        name=name,
        # the browser smooths what is left of the bricks after the (capped) numpy up-sampling
        zsmooth="best" if smooth else False,
    )
    if coloraxis:
        kw["coloraxis"] = coloraxis
    else:
        kw.update(
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            colorbar=dict(title=dict(text=colorbar_title), thickness=14, len=0.9),
        )
    if hover:
        kw["hovertemplate"] = "x %{x:.0f}, y %{y:.0f}<br>value %{z:.4g}<extra></extra>"
    else:
        kw["hoverinfo"] = "skip"
    return go.Heatmap(**kw)


@dataclass(frozen=True, eq=False)
class PanelBase:
    """The picture at a mosaic panel's size, outside the box dimmed (made once per figure, not
    once per panel), with the box in panel pixels: ``(c0, r0, c1, r1)`` clipped to the panel and
    the unclipped box's top-left and size, where the map is laid."""

    pixels: np.ndarray
    clipped: tuple[int, int, int, int]
    origin: tuple[int, int]
    size: tuple[int, int]
    cropped: bool


def panel_base(pic: Picture, side: int) -> PanelBase:
    """:class:`PanelBase` of ``pic`` at ``side`` px on its long side."""
    small = downscaled(pic.image, side)
    ph, pw = small.shape[:2]
    sy, sx = ph / pic.hw[0], pw / pic.hw[1]
    x0, y0, x1, y1 = pic.box
    left, top = int(round(x0 * sx)), int(round(y0 * sy))
    clipped = (
        max(0, left),
        max(0, top),
        min(pw, int(round(x1 * sx))),
        min(ph, int(round(y1 * sy))),
    )
    size = (max(1, round((y1 - y0) * sy)), max(1, round((x1 - x0) * sx)))
    pixels = dimmed(pic, small).astype(np.float64)
    return PanelBase(pixels, clipped, (left, top), size, pic.cropped)


def blended_panel(
    base: PanelBase, heat: np.ndarray, opacity: float, colorscale: str, lo, hi
) -> np.ndarray:
    """``heat`` blended (bilinear) over the box of a :class:`PanelBase`, the box outlined in the
    pixels: one panel of a mosaic, (s, s', 3) uint8."""
    out = base.pixels.copy()
    c0, r0, c1, r1 = base.clipped
    if c1 > c0 and r1 > r0:
        # the map over the whole box, then the part of the box inside the picture
        colours = colour_panel(array(heat, 2, "heat"), base.size, colorscale, lo, hi)
        oy, ox = r0 - base.origin[1], c0 - base.origin[0]
        part = colours[oy : oy + r1 - r0, ox : ox + c1 - c0]
        a = float(np.clip(opacity, 0.0, 1.0))
        region = out[r0 : r0 + part.shape[0], c0 : c0 + part.shape[1]]
        out[r0 : r0 + part.shape[0], c0 : c0 + part.shape[1]] = (1 - a) * region + a * part
        if base.cropped:
            red = np.array([255.0, 60.0, 60.0])
            out[r0:r1, [c0, c1 - 1]] = red
            out[[r0, r1 - 1], c0:c1] = red
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def framed(pic: Picture) -> np.ndarray:
    """The picture with the outside of the box dimmed and the box outlined in its pixels."""
    out = dimmed(pic)
    if pic.cropped:
        ih, iw = pic.hw
        x0, y0, x1, y1 = pic.box
        c0, r0 = max(0, int(round(x0))), max(0, int(round(y0)))
        c1, r1 = min(iw, int(round(x1))), min(ih, int(round(y1)))
        t = max(2, min(ih, iw) // 150)
        out = out.copy()
        red = np.array([255, 60, 60], dtype=np.uint8)
        out[r0:r1, c0 : c0 + t] = red
        out[r0:r1, max(c0, c1 - t) : c1] = red
        out[r0 : r0 + t, c0:c1] = red
        out[max(r0, r1 - t) : r1, c0:c1] = red
    return out
