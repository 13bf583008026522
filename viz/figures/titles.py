"""Panel titles and the pixel layout of panel grids: titles wrapped so neighbours never meet, row
heights that follow the picture's aspect, gaps between rows sized for the titles they hold.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

PANEL_HEIGHT = 260  # the tallest panel row, px


TITLE_FONT = 12  # panel titles: px


TITLE_LINE = 17  # px per title line


def wrap_title(text: str, width: int = 24, max_lines: int = 4) -> str:
    """``text`` wrapped to lines of at most ``width`` characters (``<br>``), at most
    ``max_lines`` lines (the last ends with "…" when cut), so neighbouring titles never meet."""
    lines = []
    for part in text.split("<br>"):
        lines += textwrap.wrap(part, width, break_long_words=False) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(1, width - 1)].rstrip() + "…"
    return "<br>".join(lines)


def title_lines(titles: Sequence[str]) -> int:
    """The most lines any of ``titles`` takes."""
    return max((t.count("<br>") + 1 for t in titles), default=1)


def row_height_for(image_hw: tuple[int, int], cols: int) -> int:
    """A panel row's height for pictures of ``image_hw`` in ``cols`` columns (≈ 800 px wide),
    so a wide picture does not float in a tall cell far below its title."""
    ih, iw = image_hw
    return int(max(100, min(PANEL_HEIGHT, round((760 / max(cols, 1)) * ih / max(iw, 1)))))


def panel_grid_geometry(n_rows: int, lines: int, row_height: int = PANEL_HEIGHT) -> dict:
    """Pixel layout of a panel grid: ``top`` margin (main title and the first row's panel
    titles), ``gap`` between rows (the next row's titles and an x-axis title), ``bottom`` margin
    (x-axis titles) and the total ``height``."""
    band = TITLE_LINE * lines + 8
    top, gap, bottom = 72 + band, band + 30, 44
    height = top + n_rows * row_height + (n_rows - 1) * gap + bottom
    return dict(top=top, gap=gap, bottom=bottom, height=height)
