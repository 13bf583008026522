"""The app's briefly cached weights check (viz.ui.state.weights_look_present): reused within its
time-to-live, so the sidebar does not stat every file on every rerun; re-read after it."""

from __future__ import annotations

from viz.ui import state
from viz.weights.registry import register
from viz.weights.spec import BackboneSpec


def _never_built(device):
    raise AssertionError("a weights check must not load")


def test_presence_is_reused_within_its_ttl_then_re_read(monkeypatch):
    files = {"here": False}
    register(
        BackboneSpec(
            "test/presence_flag",
            "test",
            "t",
            _never_built,
            {"kinds": ["se"]},
            weights_present=lambda: files["here"],
        )
    )
    monkeypatch.setattr(state, "PRESENCE_TTL_S", 3600.0)
    assert state.weights_look_present("test/presence_flag") is False
    files["here"] = True  # the file arrives
    assert state.weights_look_present("test/presence_flag") is False  # still the cached answer
    monkeypatch.setattr(state, "PRESENCE_TTL_S", 0.0)
    assert state.weights_look_present("test/presence_flag") is True
