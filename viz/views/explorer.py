"""What the in-browser explorer is sent on each page, assembled from an :class:`Analysis`: pure.

One payload per (model, image, layer) and mode; its ``id`` says which, so the browser decodes
it once and Streamlit's message cache can skip resending identical bytes. When the analysis
carries the user's whole picture (``display``) and where the model's square sits on it
(``view_box``), the explorer draws the whole picture with the grid over that square; otherwise
the crop the model saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from viz.analysis.forward import Analysis, nl_grids, records_of_kind
from viz.analysis.pins import PinnedStatistics, pinned_npz, pinned_statistics
from viz.attention import SPATIAL_KINDS, kinds_on
from viz.figures.explorer_payload import (
    a2_payload,
    channels_payload,
    map_payload,
    queries_payload,
)
from viz.views.channel import channel_gates
from viz.views.common import fmt
from viz.views.spatial import spatial_maps


def explorer_id(analysis: Analysis, mode: str, layer: str = "") -> str:
    """The identity of one payload: mode, backbone, image, layer."""
    return f"{mode}:{analysis.backbone}:{analysis.image_hash}:{layer}"


def geometry(analysis: Analysis) -> dict:
    """``display`` / ``view_box`` keyword arguments for the payload builders."""
    # ``display`` / ``view_box`` are optional fields of Analysis (absent in older analyses)
    return {
        "display": getattr(analysis, "display", None),
        "view_box": getattr(analysis, "view_box", None),
    }


def nonlocal_explorer(
    analysis: Analysis, layer: str, opacity: float = 0.6, max_pins: int = 12
) -> dict:
    """The Non-local layer's rows: hover a query, pin several."""
    rec = analysis.records[layer]
    grid_hw, keys_hw = nl_grids(rec)
    return queries_payload(
        analysis.image,
        rec.tensors["attention"],
        grid_hw,
        keys_hw,
        payload_id=explorer_id(analysis, "queries", layer),
        opacity=opacity,
        max_pins=max_pins,
        **geometry(analysis),
    )


def a2_explorer(analysis: Analysis, layer: str, opacity: float = 0.6) -> dict:
    """The A² layer: hover a position for its descriptor weights and the gather maps it uses."""
    t = analysis.records[layer].tensors
    return a2_payload(
        analysis.image,
        t["gather"],
        t["distribute"],
        payload_id=explorer_id(analysis, "a2", layer),
        opacity=opacity,
        **geometry(analysis),
    )


@dataclass(frozen=True)
class MapExplorer:
    """One spatial map's explorer payload, with the layer and the map's caption it shows."""

    path: str
    label: str
    payload: dict


def map_unit(kind: str, label: str) -> str:
    """What a spatial map's values are, for the explorer's colour bar."""
    if kind == "gc" or "softmax" in label:
        return "softmax weight (sums to 1 over positions)"
    if "σ" in label or "gate" in label or kind == "cbam":
        return "gate value (0–1)"
    return "map value"


def spatial_explorers(analysis: Analysis, opacity: float = 0.5) -> tuple[MapExplorer, ...]:
    """Every spatial map of GC / CBAM / BAM (and GSoP position) records, in capture order."""
    out = []
    for path, rec in records_of_kind(analysis, SPATIAL_KINDS).items():
        for label, heat in spatial_maps(rec).items():
            title = f"{path} ({rec.kind}): {label} {heat.shape[0]}×{heat.shape[1]}"
            payload = map_payload(
                analysis.image,
                heat,
                payload_id=explorer_id(analysis, "map", f"{path}:{label}"),
                label=title,
                unit=map_unit(rec.kind, label),
                opacity=opacity,
                **geometry(analysis),
            )
            out.append(MapExplorer(path, label, payload))
    return tuple(out)


def channel_explorer(analysis: Analysis) -> dict | None:
    """Every block's channel gate as one strip each (None when no block has a gate)."""
    blocks = [
        (f"{p} ({r.kind})", channel_gates(r))
        for p, r in records_of_kind(analysis, kinds_on("channel")).items()
        if "channel" in r.tensors
    ]
    if not blocks:
        return None
    return channels_payload(blocks, payload_id=explorer_id(analysis, "channels"))


def nonlocal_pins(
    analysis: Analysis, layer: str, pins: Sequence[tuple[int, int]]
) -> PinnedStatistics:
    """The pinned queries of a Non-local layer compared (exact rows, not the sent uint8)."""
    rec = analysis.records[layer]
    grid_hw, keys_hw = nl_grids(rec)
    return pinned_statistics(rec.tensors["attention"], pins, grid_hw, keys_hw)


def nonlocal_pins_npz(analysis: Analysis, layer: str, stats: PinnedStatistics) -> bytes:
    """The pins' maps and distances as an .npz (with backbone, image hash and layer)."""
    _, keys_hw = nl_grids(analysis.records[layer])
    return pinned_npz(
        stats, keys_hw, backbone=analysis.backbone, image_hash=analysis.image_hash, layer=layer
    )


def pins_frame(stats: PinnedStatistics) -> pd.DataFrame:
    """The pins' table (one row per pin), indexed by pin number."""
    return pd.DataFrame(stats.table()).set_index("pin")


def pins_markdown(stats: PinnedStatistics) -> str:
    """The pins' table as Markdown, numbers written with :func:`fmt` (a pandas Styler costs
    ~14 ms per pin; this is what a pin reruns, so it stays well under 1 ms)."""
    rows = stats.table()
    if not rows:
        return ""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [
            v if isinstance(v, str) else str(v) if isinstance(v, int) else fmt(v)
            for v in row.values()
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
