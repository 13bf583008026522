"""viz.figures.steps: the held-out accuracy bars of the five-step page."""

from __future__ import annotations

import pytest

from viz.figures.steps import HIGHLIGHT_COLOUR, OTHER_COLOUR, accuracy_bars


def test_accuracy_bars_write_every_score_and_mark_the_compared_pair():
    fig = accuracy_bars(
        ["baseline", "GC", "NL"], [0.349, 0.347, None], highlight=["GC", "NL"], title="mAP"
    )
    bar = fig.data[0]
    assert list(bar.y) == ["NL", "GC", "baseline"]  # drawn bottom-up: first label on top
    assert list(bar.text) == ["–", "0.347", "0.349"]  # a missing score reads "–", not 0
    assert list(bar.marker.color) == [HIGHLIGHT_COLOUR, HIGHLIGHT_COLOUR, OTHER_COLOUR]
    assert fig.layout.title.text == "mAP" and fig.layout.xaxis.range[0] == 0.0


def test_accuracy_bars_refuse_mismatched_input():
    with pytest.raises(ValueError, match="2 labels for 1 values"):
        accuracy_bars(["a", "b"], [0.1])
    with pytest.raises(ValueError, match="no models"):
        accuracy_bars([], [])
