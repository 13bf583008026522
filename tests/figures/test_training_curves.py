"""viz.gcnet_figures: emergence curves, the entropy guard, the DNL maps and the computed reading."""

from __future__ import annotations

import numpy as np
import pytest

from viz.analysis.dnl import dnl_maps, dnl_share
from viz.figures.training_curves import (
    emergence_figure,
    emergence_reading,
    guard_figure,
    regimes_table,
)


def _entry(atts, inputs=0.4, entropy=0.8):
    return {
        "table1_curve": [
            {
                "epoch": e,
                "att": a,
                "output": None if e == 0 else a / 2,
                "input": inputs,
                "entropy": entropy,
                "unary_share": 0.9,
            }
            for e, a in enumerate(atts)
        ]
    }


CKPTS = {
    "nl_embedded_gaussian": _entry([0.45, 0.2, 0.04]),
    "nl_embedded_gaussian@seed1": _entry([0.44, 0.21, 0.05]),
    "nl_embedded_gaussian@pool": _entry([0.45, 0.3, 0.35]),
    "nl_dot_product": _entry([0.4, 0.3, 0.2]),
    "nl_gaussian": _entry([0.5, 0.4, 0.01], entropy=0.995),
}


def test_emergence_figure_draws_every_run_and_gcnet_reference_lines():
    fig = emergence_figure(CKPTS)
    names = {t.name for t in fig.data}
    assert any("fixed pool" in n for n in names) and any("seed 1" in n for n in names)
    att = [t for t in fig.data if t.name == "att · fresh scenes, seed 0"]
    assert [list(t.y) for t in att][0] == [0.5, 0.4, 0.01]  # gaussian panel first
    texts = [a.text for a in fig.layout.annotations]
    assert any("GCNet COCO att 0.020" in t for t in texts)
    assert fig.layout.title.text and fig.layout.xaxis.title.text


def test_reading_is_computed_from_the_curves():
    text = emergence_reading(CKPTS)
    assert "E-Gaussian: att fell from 0.450 at init to 0.040" in text
    assert "GCNet's pattern holds" in text
    assert "nearly uniform" in text  # the Gaussian's rows are alike only because they are flat
    assert "Dot product" in text and "above GCNet's 0.05 goal" in text
    assert emergence_reading({}).startswith("No NL checkpoint")


def test_guard_figure_and_regimes_table():
    fig = guard_figure(CKPTS)
    assert len(fig.data) == 2 * 3  # entropy + unary share for three fresh forms
    rows = regimes_table(
        {
            "nl_regimes": {
                "nl_dot_product": {
                    "fresh": {"att": 0.1},
                    "pool": {"att": 0.3},
                    "fresh_mAP": 0.8,
                    "pool_mAP": 0.6,
                }
            }
        }
    )
    assert [(r["data"], r["att"], r["mAP"]) for r in rows] == [
        ("fresh scenes every epoch", 0.1, 0.8),
        ("small fixed pool", 0.3, 0.6),
    ]


def test_dnl_maps_and_share():
    rng = np.random.default_rng(0)
    unary = rng.normal(size=12)
    assert dnl_share(unary, np.zeros((12, 12))) == pytest.approx(1.0)
    pairwise = rng.normal(size=(12, 12)) * 10
    assert dnl_share(unary, pairwise) < 0.2
    maps = dnl_maps(unary, pairwise, [0, 5], (3, 4), softmax=True)
    assert maps["unary"].shape == (3, 4) and maps["unary"].sum() == pytest.approx(1.0)
    assert np.allclose(maps["pairwise 5"], pairwise[5].reshape(3, 4))


def test_training_curves_figure():
    from viz.figures.training_curves import training_curves_figure

    entry = {
        "curves": {
            "epoch": [1, 2],
            "train_loss": [0.4, 0.3],
            "heldout_loss": [0.35, 0.36],
            "heldout_mAP": [0.2, 0.3],
        }
    }
    fig = training_curves_figure(entry, "zoo/se")
    assert [list(t.y) for t in fig.data] == [[0.4, 0.3], [0.35, 0.36], [0.2, 0.3]]
    assert "zoo/se" in fig.layout.title.text and fig.layout.xaxis.title.text == "epoch"


def test_training_curves_keep_a_distilled_objective_apart_from_the_label_losses():
    from viz.figures.training_curves import training_curves_figure

    curves = {"epoch": [1, 2], "train_loss": [1.5, 1.4], "heldout_loss": [0.4, 0.41]}
    curves["heldout_mAP"] = [0.3, 0.35]
    entry = {"curves": curves, "recipe": {"loss": "BCE + 10 x BCE to the ImageNet teacher"}}
    names = [t.name for t in training_curves_figure(entry, "zoo/se").data]
    # the objective (labels + teacher) is not shown as if it were a train loss beside held-out
    assert names == [
        "held-out loss (labels)",
        "train objective (labels + teacher, fresh scenes)",
        "held-out mAP",
    ]
    entry["curves"] = {**curves, "train_label_loss": [0.38, 0.36]}
    entry["data"] = {"regime": "pool"}
    names = [t.name for t in training_curves_figure(entry, "zoo/se").data]
    assert names[0] == "train loss (labels, fixed pool)" and len(names) == 4
