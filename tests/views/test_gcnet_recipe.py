"""viz.views.gcnet_recipe: the verdict, the ablation and the epoch slider's choices, from a
manifest written here (the real one is made by python -m viz train --gcnet)."""

from __future__ import annotations

import numpy as np
import pytest
from nl_records import synthetic_nl_analysis

from viz.analysis.query_reading import FLAT, QUERY_DEPENDENT, QUERY_INDEPENDENT
from viz.views import gcnet_recipe as gv


def _stats(att, inp=0.4, peak=5.0, entropy=0.8, share=0.5):
    return {
        "att": att,
        "input": inp,
        "output": att,
        "peak": peak,
        "entropy": entropy,
        "unary_share": share,
    }


def _cell(kind, inp, init, scale, opt, schedule, seed, final, photos=None):
    name = f"{kind}.{inp}.{init}.{scale}.{opt}.{schedule}.seed{seed}"
    row = {"epoch": 1, "heldout_loss": 0.3, "heldout_mAP": 0.35, "table1": final}
    if photos is not None:
        row["photos_table1"] = photos
    return name, {
        "name": name,
        "factors": {
            "kind": kind,
            "input": inp,
            "init": init,
            "scale": scale,
            "optimiser": opt,
            "schedule": schedule,
            "seed": seed,
        },
        "curve": [{**row, "epoch": 0, "table1": _stats(0.5, peak=1.0)}, row],
        "final": row,
    }


def _manifest(gcnet_att=0.02, gcnet_peak=5.0):
    cells = dict(
        [
            _cell(
                "nl_embedded_gaussian",
                "residual",
                "mmcv",
                "sqrt",
                "adamw",
                "long",
                0,
                _stats(gcnet_att, peak=gcnet_peak),
                _stats(gcnet_att, peak=gcnet_peak),
            ),
            _cell(
                "nl_embedded_gaussian",
                "signed",
                "default",
                "none",
                "adamw",
                "long",
                0,
                _stats(0.40, peak=40.0),
                _stats(0.41),
            ),
            _cell(
                "nl_embedded_gaussian",
                "relu",
                "mmcv",
                "sqrt",
                "adamw",
                "short",
                0,
                _stats(0.03, peak=1.2),
            ),
            _cell("nl_dot_product", "relu", "mmcv", "none", "sgd", "short", 1, _stats(0.2)),
        ]
    )
    eg = "nl_embedded_gaussian.residual.mmcv.sqrt.adamw.long.seed0"
    sh = "nl_embedded_gaussian.signed.default.none.adamw.long.seed0"
    return {
        "checkpoints": {
            "gcnet_nl_embedded_gaussian": {
                "file": "x",
                "sha256": "y",
                "cell": eg,
                "kind": "nl_embedded_gaussian",
                "input": "residual",
                "init": "mmcv",
                "scale": "sqrt",
                "table1": cells[eg]["final"]["table1"],
                "photos_table1": cells[eg]["final"]["photos_table1"],
                "epochs": [{"epoch": e, "file": f"e{e}", "sha256": "z"} for e in (0, 1, 2)],
            },
            "shipped_nl_embedded_gaussian": {
                "file": "x",
                "sha256": "y",
                "cell": sh,
                "kind": "nl_embedded_gaussian",
                "input": "signed",
                "init": "default",
                "scale": "none",
                "table1": cells[sh]["final"]["table1"],
                "epochs": [{"epoch": e, "file": f"e{e}", "sha256": "z"} for e in (0, 1)],
            },
        },
        "cells": cells,
    }


def test_the_verdict_follows_the_numbers():
    yes = gv.family_status(_manifest())
    assert yes.reproduced and "reproduced" in yes.title
    no = gv.family_status(_manifest(gcnet_att=0.12))
    assert not no.reproduced and "does not reproduce" in no.title and "0.120" in no.text
    flat = gv.family_status(_manifest(gcnet_peak=1.1))
    assert not flat.reproduced and FLAT in flat.text
    untrained = gv.family_status({"checkpoints": {}})
    assert not untrained.trained and "not trained" in untrained.text


def test_ablation_frame_reading_and_figure():
    fig, frame, text = gv.ablation_view(_manifest())
    assert len(frame) == 4
    outcomes = dict(zip(frame["recipe"] + frame["schedule"], frame["outcome"]))
    assert outcomes["residual · mmcv · sqrtlong"] == QUERY_INDEPENDENT
    assert outcomes["relu · mmcv · sqrtshort"] == FLAT
    assert outcomes["signed · default · nonelong"] == QUERY_DEPENDENT
    assert "input" in text and "1 query-independent" in text and "1 flat" in text
    assert set(frame["independent_epochs"]) <= {"", "1"}
    assert len(fig.data) >= 3  # one trace per outcome (and panel)
    photos = gv.ablation_frame(_manifest(), where="photos_table1")
    assert len(photos) == 2  # only the cells measured on the photos


def test_epoch_choices_need_both_recipes_registered():
    m = _manifest()
    registered = [gv.epoch_name(n, e) for n in gv.EPOCH_MODELS for e in (0, 1, 2)]
    assert gv.epoch_choices(registered, m) == [0, 1]  # the shipped one stops at 1
    assert gv.epoch_choices(registered[:3], m) == []


def test_sibling_models_pair_each_recipe_with_its_counter_example():
    reg = {
        "zoo/nl_embedded_gaussian",
        "zoo/nl_dot_product",
        gv.GCNET_EG,
        "gcnet-recipe/nl_dot_product",
    }
    assert gv.sibling_models(gv.GCNET_EG, reg) == [
        gv.GCNET_EG,
        "gcnet-recipe/nl_dot_product",
        "zoo/nl_embedded_gaussian",
    ]
    assert gv.sibling_models("zoo/nl_dot_product", reg)[-1] == gv.GCNET_EG


def test_layer_reading_on_a_captured_record():
    rng = np.random.default_rng(0)
    an = synthetic_nl_analysis(np.tile(rng.dirichlet(np.full(16, 0.3)), (16, 1)))
    r = gv.layer_reading(an, "nl")
    assert r.outcome == QUERY_INDEPENDENT and r.unary_share == pytest.approx(1.0)
    numbers = gv.epoch_numbers(an)
    assert numbers["reading"] == QUERY_INDEPENDENT and numbers["att"] == pytest.approx(0, abs=1e-6)
