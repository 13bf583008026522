"""The typed registry: every spec's metadata is a BackboneMeta, normalised, read by attribute (and,
for code outside the project, like a dict)."""

from __future__ import annotations

import pytest

from viz.weights.registry import backbone_info, list_backbones
from viz.weights.spec import BackboneMeta, BackboneSpec


def test_every_registered_spec_has_typed_normalised_metadata():
    for name in list_backbones():
        meta = backbone_info(name).meta
        assert isinstance(meta, BackboneMeta), name
        assert isinstance(meta.kinds, list) and isinstance(meta.attention_points, list), name
        assert meta.input_size is None or isinstance(meta.input_size, int), name


def test_unknown_keys_and_aliases_raise():
    with pytest.raises(TypeError, match="attention_kinds"):
        BackboneMeta.of({"attention_kinds": ["se"]})
    with pytest.raises(TypeError, match="kinds"):
        BackboneSpec("test/bad", "test", "bad", lambda d: None, {"kinds": "se"})


def test_reads_by_attribute_and_like_the_dict_it_was_given():
    """The project reads fields (absent ones give their defaults); code outside it may still read
    the mapping, where only the given keys exist."""
    meta = BackboneMeta.of(
        {
            "kinds": ("se",),
            "attention_points": "layer1.se",
            "input_size": (3, 224, 224),
            "task": None,
        }
    )
    assert meta.kinds == ["se"] and meta.attention_points == ["layer1.se"]
    assert meta.input_size == 224 and meta.task is None
    assert meta.dataset is None and meta.table1 is None and meta.classes is None
    assert meta["kinds"] == ["se"] and meta["attention_points"] == ["layer1.se"]
    assert meta["input_size"] == 224 and "task" in meta and meta["task"] is None
    assert "table1" not in meta and meta.get("table1", "absent") == "absent"
    with pytest.raises(KeyError):
        meta["dataset"]
    merged = meta.merged({"dataset": "x", "kinds": ["eca"]})
    assert merged["dataset"] == "x" and merged["kinds"] == ["eca"] and merged["input_size"] == 224
