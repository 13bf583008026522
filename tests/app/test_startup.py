"""Start-up: the backbone registry under concurrent first callers, and the multipage layout that
keeps Streamlit out of its legacy ``pages/`` mode (issue 10, items 1 and 2)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_RACE = textwrap.dedent(
    """
    import json, sys, threading
    sys.path.insert(0, {root!r})
    import viz.weights.registry as b
    assert not b._POPULATED and not b._REGISTRY, "registry must start empty in a fresh process"
    n = {threads}
    barrier = threading.Barrier(n)
    seen, errors = [None] * n, []

    def visit(i):
        barrier.wait()  # every thread calls at the same moment, like a classroom's first visits
        try:
            names = b.list_backbones()
            b.backbone_info("zoo/nl_embedded_gaussian")  # the app's default must resolve
            seen[i] = names
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({{"seen": seen, "errors": errors, "final": b.list_backbones()}}))
    """
)


def test_concurrent_first_callers_all_see_the_full_registry():
    """Many threads call list_backbones() at once on a fresh registry (a fresh interpreter): each
    sees the same full list. Before the fix, _populate() set its flag before the imports finished,
    so all but one caller got an empty list and a KeyError for the default backbone."""
    code = _RACE.format(root=str(ROOT), threads=12)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert not result["errors"], result["errors"]
    final = result["final"]
    assert any(n.startswith("zoo/") for n in final) and len(final) >= 12, final
    assert all(names == final for names in result["seen"]), [len(s or []) for s in result["seen"]]


def test_populate_sets_its_flag_only_after_the_sources(monkeypatch):
    """A failing source leaves the registry unpopulated and empty (retried on the next call),
    never marked done while empty or half-filled."""
    import viz.weights.registry as b
    from viz.weights.sources import zoo

    monkeypatch.setattr(b, "_POPULATED", False)
    monkeypatch.setattr(b, "_REGISTRY", {})
    real_specs = zoo.specs

    def failing():
        raise ImportError("simulated failure while the registry fills")

    monkeypatch.setattr(zoo, "specs", failing)
    with pytest.raises(ImportError, match="simulated"):
        b.list_backbones()
    assert b._POPULATED is False and b._REGISTRY == {}
    monkeypatch.setattr(zoo, "specs", real_specs)
    assert b.list_backbones() and b._POPULATED is True


def test_a_name_taken_by_a_different_spec_raises(monkeypatch):
    import viz.weights.registry as b
    from viz.weights.spec import BackboneSpec

    monkeypatch.setattr(b, "_REGISTRY", {})
    first = BackboneSpec("test/dup", "test", "first", lambda device: None)
    assert b.register(first) is first
    b.register(first)  # the same spec again: a no-op
    with pytest.raises(b.DuplicateBackbone, match="test/dup"):
        b.register(BackboneSpec("test/dup", "test", "second", lambda device: None))


# ------------------------------------------------------------------------------------ multipage


def _fresh_uses_pages_directory(main_script: Path) -> bool:
    """What Streamlit decides for a server process whose entry script is ``main_script``: a new
    PagesManager with the class flag unset, as at server start (runtime/pages_manager.py)."""
    from streamlit.runtime.pages_manager import PagesManager

    saved = PagesManager.uses_pages_directory
    try:
        PagesManager.uses_pages_directory = None
        PagesManager(str(main_script))
        return bool(PagesManager.uses_pages_directory)
    finally:
        PagesManager.uses_pages_directory = saved


def test_streamlit_still_enters_legacy_mode_with_a_pages_dir(tmp_path):
    """Why our page files live in ``app_pages/``: Streamlit (1.67) turns on its legacy multipage
    mode for any server whose entry script has a ``pages`` entry beside it, until st.navigation
    runs in that process; sessions started before that (first visitors, deep links, tabs
    reconnecting after a restart) run through the legacy path without our sidebar. The day this
    test fails, Streamlit has dropped that behaviour and ``pages/`` is safe again (docs/ARCHITECTURE.md)."""
    (tmp_path / "app.py").write_text("import streamlit as st\n")
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "x.py").write_text("import streamlit as st\n")
    assert _fresh_uses_pages_directory(tmp_path / "app.py") is True


def test_our_layout_never_enters_legacy_mode():
    """Our entry script has no ``pages`` beside it, and every page st.navigation lists exists."""
    assert not (ROOT / "pages").exists(), "a pages/ entry beside app.py turns on legacy mode"
    assert _fresh_uses_pages_directory(ROOT / "app.py") is False
    source = (ROOT / "app.py").read_text() + (ROOT / "viz" / "ui" / "app.py").read_text()
    assert "uses_pages_directory" not in source, "the app must not mutate Streamlit internals"
    import re

    listed = re.findall(r'st\.Page\(\s*"([^"]+)"', source)
    assert len(listed) >= 8 and all((ROOT / p).is_file() for p in listed), listed
    assert all(p.startswith("app_pages/") for p in listed), listed
    on_disk = {f"app_pages/{p.name}" for p in (ROOT / "app_pages").glob("*.py")}
    assert on_disk == set(listed), on_disk ^ set(listed)
