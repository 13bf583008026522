"""The Channel-attention page from an :class:`~viz.analysis.forward.Analysis`: one gate bar chart per
block, the blocks x channels heatmap, and one block's gates across several images.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from viz import figures
from viz.analysis.forward import Analysis, records_of_kind
from viz.attention import kinds_on, mechanism
from viz.capture.recorder import Record


def channel_gates(record: Record) -> np.ndarray:
    """A record's channel gate in [0, 1]: BAM emits logits, so its channel branch goes through σ."""
    return mechanism(record.kind).channel_gate(record.tensors)


@dataclass(frozen=True)
class BlockFigure:
    """One block's figure with the block's path: the page keys the chart by the path, so the path
    travels with the figure instead of being parsed back out of a dict key."""

    path: str
    figure: go.Figure


@dataclass(frozen=True)
class ChannelFigures:
    """The Channel page: one gate bar chart per block that has a channel gate (capture order),
    and the blocks x channels heatmap (``None`` when no block has a gate: nothing to stack)."""

    bars: tuple[BlockFigure, ...]
    heatmap: go.Figure | None


def channel_view(
    analysis: Analysis, sort: bool = False, top_k: int | None = None
) -> ChannelFigures:
    """Per-block gate bar charts and, when there are gates, the blocks x channels heatmap."""
    recs = {
        p: r
        for p, r in records_of_kind(analysis, kinds_on("channel")).items()
        if "channel" in r.tensors
    }
    bars = tuple(
        BlockFigure(
            path,
            figures.channel_bars(
                channel_gates(rec),
                title=f"{path} ({rec.kind}) — {rec.module_type}",
                sort=sort,
                top_k=top_k,
            ),
        )
        for path, rec in recs.items()
    )
    heatmap = (
        figures.channel_heatmap({f"{p} ({r.kind})": channel_gates(r) for p, r in recs.items()})
        if recs
        else None
    )
    return ChannelFigures(bars=bars, heatmap=heatmap)


def channel_compare_view(
    analyses: Mapping[str, Analysis], top_k: int | None = None
) -> tuple[BlockFigure, ...]:
    """The same block's gates across several images (one figure per block present in at least two
    of them, in the first run's capture order)."""
    items = list(analyses.items())
    if not items:
        return ()
    first = records_of_kind(items[0][1], kinds_on("channel"))
    out = []
    for path, rec in first.items():
        if "channel" not in rec.tensors:
            continue
        gates = {}
        for label, an in items:
            other = an.records.get(path)
            if other is not None and "channel" in other.tensors:
                gates[label] = channel_gates(other)
        if len(gates) >= 2:
            out.append(
                BlockFigure(
                    path,
                    figures.channel_compare(
                        gates, top_k=top_k, title=f"{path} ({rec.kind}) across images"
                    ),
                )
            )
    return tuple(out)
