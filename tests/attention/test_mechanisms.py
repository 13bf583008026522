"""Every mechanism's display facts, in one test parametrised over the registry: a new kind is
covered the day its file exports a ``Mechanism``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import expit

from viz.attention import (
    ATTENTION_KINDS,
    CHANNEL_KINDS,
    FAMILIES,
    MECHANISMS,
    NL_KINDS,
    SPATIAL_KINDS,
    create_attention,
    kinds_on,
    mechanism,
)
from viz.capture import capture

C, H, W = 16, 6, 8


def _record(kind: str, **options):
    torch.manual_seed(0)
    block = create_attention(kind, C, **options).eval()
    with torch.inference_mode(), capture(block) as records:
        block(torch.randn(2, C, H, W))
    (record,) = records.values()
    return record.numpy(index=1)


def test_one_mechanism_per_kind_in_order():
    assert tuple(MECHANISMS) == ATTENTION_KINDS
    assert NL_KINDS == tuple(k for k in ATTENTION_KINDS if k.startswith("nl_"))
    assert CHANNEL_KINDS == ("se", "eca", "gsop", "cbam", "bam")
    assert SPATIAL_KINDS == kinds_on("spatial") == ("gsop", "cbam", "bam", "gc")
    with pytest.raises(ValueError, match="unknown attention kind"):
        mechanism("nope")


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_display_facts(kind):
    facts = mechanism(kind)
    record = _record(kind)
    assert facts.kind == kind == record.kind
    assert facts.family in FAMILIES and facts.title and facts.formula
    assert facts.pages, "every kind is drawn by some page"
    gate = facts.channel_gate(record.tensors)
    if kind in CHANNEL_KINDS:
        assert gate.shape == (C,) and gate.min() >= 0.0 and gate.max() <= 1.0
    else:
        assert gate is None
    maps = facts.spatial_maps(record.tensors)
    if kind in ("se", "eca", "gsop"):  # channel forms: no map (GSoP's position form has one)
        assert maps == {}
    else:
        assert maps, f"{kind} offers no map"
    units = {m.label: m.unit for m in facts.maps}
    for label, heat in maps.items():
        assert heat.ndim == 2 and np.isfinite(heat).all(), label
        if units[label]:
            assert heat.min() >= 0.0 and heat.max() <= 1.0 + 1e-6, label
    assert all(units.values()) is (kind != "nl_dot_product")
    explained = facts.explain(record.tensors) if facts.explain else ""
    assert isinstance(explained, str)


def test_bam_logits_become_sigmoid_gates():
    record = _record("bam")
    facts = mechanism("bam")
    assert np.allclose(facts.channel_gate(record.tensors), expit(record.tensors["channel"]))
    spatial = facts.spatial_maps(record.tensors)["σ(Ms) spatial branch"]
    assert np.allclose(spatial, expit(record.tensors["spatial"]))


def test_gc_context_map_is_the_softmax_as_it_is():
    record = _record("gc")
    (context,) = mechanism("gc").spatial_maps(record.tensors).values()
    assert context.shape == (H, W) and np.isclose(context.sum(), 1.0, atol=1e-5)


@pytest.mark.parametrize("kind", NL_KINDS)
def test_nonlocal_mean_row_on_the_key_grid(kind):
    record = _record(kind, sub_sample=True)
    (mean_row,) = mechanism(kind).spatial_maps(record.tensors).values()
    assert mean_row.shape == (H // 2, W // 2)
    assert np.allclose(mean_row.ravel(), record.tensors["attention"].mean(axis=0))


def test_gsop_position_form_has_its_map():
    record = _record("gsop", mode="position")
    assert "position attention" in mechanism("gsop").spatial_maps(record.tensors)
