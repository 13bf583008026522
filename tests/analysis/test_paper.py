"""The paper numbers are complete, plausible and match the tables as printed (paper_tables.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from viz.analysis.paper import (
    GCNET_TABLE1,
    IMAGENET_RESNET50_TOP1,
    NL_FORM_TITLES,
    NL_FORMS,
    paper_value,
)

PRINTED = Path(__file__).with_name("paper_tables.md")
FORMS = ("gaussian", "embedded_gaussian", "dot_product", "concatenation")
ROW_NAMES = {  # how the printed tables name the rows
    "Gaussian": "gaussian",
    "E-Gaussian": "embedded_gaussian",
    "Dot product": "dot_product",
    "Concat": "concatenation",
}


def test_every_form_and_column_present():
    assert set(GCNET_TABLE1) == {"COCO", "Kinetics"}
    assert NL_FORMS == FORMS
    assert set(NL_FORM_TITLES) == set(FORMS)
    assert NL_FORM_TITLES["embedded_gaussian"] == "Embedded Gaussian"
    for dataset, accuracy in (("COCO", ("ap_box", "ap_mask")), ("Kinetics", ("top1", "top5"))):
        assert set(GCNET_TABLE1[dataset]) == set(FORMS)
        for form in FORMS:
            row = GCNET_TABLE1[dataset][form]
            assert set(row) == {*accuracy, "input", "output", "att", "jsd"}


def test_values_plausible():
    for dataset, rows in GCNET_TABLE1.items():
        for form, row in rows.items():
            for stat in ("input", "output", "att"):
                assert 0.0 <= row[stat] <= 0.5, (dataset, form, stat)
            # the paper's point: inputs differ far more between positions than outputs
            assert row["input"] > 3 * row["output"], (dataset, form)
            softmax = form in ("gaussian", "embedded_gaussian")
            assert (row["jsd"] is not None) == softmax, (dataset, form)
            if softmax:
                assert 0.0 <= row["jsd"] <= 0.7  # JSD is at most log 2
    for acc in ("ap_box", "ap_mask"):
        assert all(30 < GCNET_TABLE1["COCO"][f][acc] < 45 for f in FORMS)
    assert all(
        70 < GCNET_TABLE1["Kinetics"][f]["top1"] < GCNET_TABLE1["Kinetics"][f]["top5"] < 100
        for f in FORMS
    )
    # the two exceptions GCNet points out
    assert GCNET_TABLE1["COCO"]["gaussian"]["att"] == max(
        r["att"] for r in GCNET_TABLE1["COCO"].values()
    )
    assert GCNET_TABLE1["Kinetics"]["dot_product"]["att"] == max(
        r["att"] for r in GCNET_TABLE1["Kinetics"].values()
    )


def test_imagenet_table():
    assert set(IMAGENET_RESNET50_TOP1) == {
        "baseline",
        "se",
        "cbam",
        "a2",
        "gsop",
        "gc",
        "eca",
        "bam",
    }
    base = IMAGENET_RESNET50_TOP1["baseline"]
    assert base == 75.20
    assert all(v > base for k, v in IMAGENET_RESNET50_TOP1.items() if k != "baseline")


def test_paper_value_lookup_and_errors():
    assert paper_value("COCO", "nl_gaussian", "att") == 0.177
    assert paper_value("Kinetics", "dot_product", "jsd") is None
    with pytest.raises(KeyError, match="forms"):
        paper_value("COCO", "cosine", "att")
    with pytest.raises(KeyError, match="columns"):
        paper_value("COCO", "gaussian", "top1")


def _parse_reference_tables(text: str) -> dict[str, dict[str, list[str]]]:
    tables: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        cells = (
            [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("|")
            else None
        )
        if not cells:
            current = None
            continue
        if cells[0] in ("COCO", "Kinetics"):
            current = cells[0]
            tables[current] = {}
        elif current and cells[0] in ROW_NAMES:
            tables[current][ROW_NAMES[cells[0]]] = cells[1:]
    return tables


def test_matches_the_printed_tables():
    text = PRINTED.read_text(encoding="utf-8")
    tables = _parse_reference_tables(text)
    columns = {
        "COCO": ("ap_box", "ap_mask", "input", "output", "att", "jsd"),
        "Kinetics": ("top1", "top5", "input", "output", "att", "jsd"),
    }
    assert set(tables) == {"COCO", "Kinetics"}
    for dataset, cols in columns.items():
        assert set(tables[dataset]) == set(FORMS)
        for form, cells in tables[dataset].items():
            for col, cell in zip(cols, cells, strict=True):
                expected = None if cell in ("–", "-") else float(cell)
                assert GCNET_TABLE1[dataset][form][col] == expected, (dataset, form, col)
    start = text.index("\nBaseline ")
    end = text.find("\n\n", start)
    line = text[start : end if end >= 0 else None].replace("\n", " ")
    names = {
        "Baseline": "baseline",
        "SE": "se",
        "CBAM": "cbam",
        "A²": "a2",
        "GSoP-Net1": "gsop",
        "GC": "gc",
        "ECA": "eca",
        "BAM": "bam",
    }
    for name, key in names.items():
        m = re.search(rf"(?:^\s*|· ){re.escape(name)} (\d+\.\d+)", line)
        assert m, name
        assert IMAGENET_RESNET50_TOP1[key] == float(m.group(1)), name
