"""GCNet's finding read with three outcomes: one shared map, flat attention, or query-dependent.

Why three: GCNet's Table 1 reports how alike the attention rows of different queries are (att),
but identical rows are also what *uniform* attention gives, and no column of the table can tell
the two apart. A block that learned one global context map singles out some keys for every
query; a block whose logits never grew spreads each row evenly. So the reading needs, beside att
and the input distance, how far the shared (mean) row departs from uniform: its strongest key
over a uniform share (the *peak*, 1 = uniform) and its entropy (1 = uniform).

The thresholds are the issue's definition of GCNet's pattern, stated once here: att <= 0.05 with
inputs that differ (input >= 0.25) and a shared map whose strongest key gets >= 3x a uniform share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viz.analysis.numpy_stats import mean_row_entropy, mean_row_peak

ATT_MAX = 0.05  # rows this alike count as "the same map for every query" (GCNet COCO E-G: 0.020)
INPUT_MIN = 0.25  # inputs must differ between positions (GCNet: 0.39-0.41 on COCO)
PEAK_MIN = 3.0  # the shared map's strongest key over a uniform share

QUERY_INDEPENDENT = "query-independent, one shared map"
FLAT = "flat"
QUERY_DEPENDENT = "query-dependent"
OUTCOMES = (QUERY_INDEPENDENT, FLAT, QUERY_DEPENDENT)

HEATMAP_CAVEAT = (
    "A heat map coloured from its own minimum to its maximum, as in GCNet's Fig. 1, stretches any "
    "row to full contrast: a nearly uniform row whose strongest key gets 1.2× a uniform share looks "
    "as structured as a sharp one. Maps that look alike can therefore be flat; the peak over "
    "uniform and the entropy below say which."
)


def classify(att: float, input_: float, peak: float) -> str:
    """One of :data:`OUTCOMES` from Table 1's att and input distances and the mean row's peak.

    - :data:`QUERY_INDEPENDENT`: att <= :data:`ATT_MAX`, input >= :data:`INPUT_MIN` and
      peak >= :data:`PEAK_MIN` (GCNet's pattern: inputs differ, one map with structure);
    - :data:`FLAT`: the rows agree (att <= ATT_MAX) but the shared row barely departs from
      uniform (peak < PEAK_MIN): they agree because there is little to disagree about;
    - :data:`QUERY_DEPENDENT`: otherwise (including rows that agree because the inputs do).
    """
    if att <= ATT_MAX and peak < PEAK_MIN:
        return FLAT
    if att <= ATT_MAX and input_ >= INPUT_MIN:
        return QUERY_INDEPENDENT
    return QUERY_DEPENDENT


@dataclass(frozen=True)
class QueryReading:
    """The three-outcome reading of one Non-local layer and the numbers it rests on.

    Args:
        outcome: one of :data:`OUTCOMES`.
        att, input: Table 1's mean (1 - cos)/2 of the attention rows and of the inputs.
        peak: the mean row's strongest key over a uniform share (1 = uniform).
        entropy: the mean row's entropy over log K (1 = uniform).
        unary_share: DNL's share of the logits' variance over keys that the query-shared term
            explains (None where the layer records no split).
    """

    outcome: str
    att: float
    input: float
    peak: float
    entropy: float
    unary_share: float | None = None

    @property
    def sentence(self) -> str:
        """The reading in one or two sentences, written from the numbers."""
        numbers = (
            f"att {self.att:.3f}, input {self.input:.3f}; the mean map's strongest key gets "
            f"{self.peak:.1f}× a uniform share (entropy {self.entropy:.2f}, 1 = uniform)"
        )
        if self.unary_share is not None:
            numbers += f"; the query-shared DNL term explains {self.unary_share:.0%} of the logits"
        if self.outcome == QUERY_INDEPENDENT:
            head = (
                "Query-independent, one shared map: the rows agree although the inputs differ, "
                "and the map they share singles out some keys — GCNet's pattern"
            )
        elif self.outcome == FLAT:
            head = (
                "Flat: the rows agree, but because each barely departs from uniform attention — "
                "not the shared global-context map GCNet describes"
            )
        elif self.att <= ATT_MAX:
            head = (
                "Not GCNet's pattern: the rows agree, but so do the inputs, so there is nothing "
                "for a query to tell apart"
            )
        else:
            head = f"Query-dependent: the rows differ (att above {ATT_MAX}), unlike GCNet's finding"
        return f"{head} ({numbers})."


def query_reading(
    att: float, input_: float, rows: np.ndarray, unary_share: float | None = None
) -> QueryReading:
    """The reading of one layer from its Table-1 distances and its attention rows (N, K)."""
    peak, entropy = mean_row_peak(rows), mean_row_entropy(rows)
    return QueryReading(classify(att, input_, peak), att, input_, peak, entropy, unary_share)


def reading_of_stats(stats: dict) -> QueryReading:
    """The reading from a statistics record that already holds ``att``, ``input``, ``peak``,
    ``entropy`` (and optionally ``unary_share``): the manifest's per-epoch Table 1."""
    return QueryReading(
        classify(stats["att"], stats["input"], stats["peak"]),
        float(stats["att"]),
        float(stats["input"]),
        float(stats["peak"]),
        float(stats["entropy"]),
        stats.get("unary_share"),
    )
