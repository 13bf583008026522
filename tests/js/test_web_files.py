"""The in-browser components' JavaScript and CSS as files: node parses each shipped file and each
joined component, node's unit tests (``logic.test.mjs``) pass, the files ship as package data, and
no Python file carries JavaScript or CSS source."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from viz.figures import web_assets

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "viz" / "figures" / "web"
SHIPPED_JS = sorted(WEB.glob("*.mjs"))
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(
    NODE is None, reason="node is not installed (Debian: apt-get install nodejs; .ci/run does)"
)


def _node(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NODE, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def _ok(run: subprocess.CompletedProcess) -> bool:
    return run.returncode == 0


def test_the_components_files_are_there():
    names = {p.name for p in WEB.iterdir()}
    assert {"helpers.mjs", "pins.mjs", "explorer.mjs", "query_grid.mjs"} <= names
    assert {"explorer.css", "query_grid.css"} <= names


@needs_node
@pytest.mark.parametrize("path", SHIPPED_JS, ids=[p.name for p in SHIPPED_JS])
def test_node_check_each_shipped_file(path):
    run = _node("--check", str(path))
    assert _ok(run), run.stderr


@needs_node
@pytest.mark.parametrize("name", ["EXPLORER_JS", "QUERY_GRID_JS"])
def test_each_joined_component_is_one_module_node_loads(name, tmp_path):
    """What the browser gets: the imports inlined, one module whose default export is the
    component, with no DOM touched while it loads (and no name declared twice)."""
    text = getattr(web_assets, name)
    assert not re.search(r"^\s*import\b", text, re.MULTILINE)
    path = tmp_path / "component.mjs"
    path.write_text(text)
    probe = (
        "const m = await import(process.argv[1]);"
        "if (typeof m.default !== 'function') { console.error('no default export'); process.exit(3); }"
    )
    run = _node("--input-type=module", "-e", probe, str(path))
    assert _ok(run), run.stderr


@needs_node
def test_js_logic_under_node_test():
    run = _node("--test", str(Path(__file__).with_name("logic.test.mjs")), timeout=120)
    assert _ok(run), run.stdout + run.stderr
    assert re.search(r"^# fail 0$", run.stdout, re.MULTILINE), run.stdout


def test_inlining_refuses_imports_it_cannot_join(monkeypatch):
    texts = {
        "a.mjs": 'import { x } from "./b.mjs";\nexport default function () { x(); }\n',
        "b.mjs": 'import { y as x } from "./c.mjs";\n',
        "c.mjs": 'import { a } from "./a.mjs";\nexport function y() {}\n',
    }
    monkeypatch.setattr(web_assets, "web_file", texts.__getitem__)
    with pytest.raises(ValueError, match="b.mjs"):
        web_assets.inline_module("a.mjs")
    texts["b.mjs"] = 'import { y } from "./c.mjs";\n'
    with pytest.raises(ValueError, match="cycle: a.mjs -> b.mjs -> c.mjs -> a.mjs"):
        web_assets.inline_module("a.mjs")
    texts["c.mjs"] = "export function y() {}\n"
    joined = web_assets.inline_module("a.mjs")
    assert joined.index("function y") < joined.index("export default") and "import" not in joined


def test_the_files_ship_as_package_data():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["viz.figures"]
    for path in WEB.iterdir():
        rel = path.relative_to(ROOT / "viz" / "figures").as_posix()
        assert any(fnmatch.fnmatch(rel, g) for g in globs), f"{rel} is not package data"


# JavaScript / CSS source lines: a function or const declaration, an ES export, DOM calls, a CSS
# rule `.selector { property: value }`
_SOURCE_LINE = re.compile(
    r"^\s*(export default function|function \w+\s*\(.*\)\s*\{|const \w+ = .*;\s*$"
    r"|.*\b(addEventListener|getContext|createElement)\(|[.#][\w-]+[^{\n]*\{[^}\n]*:[^}\n]*\}\s*$)"
)


def test_no_python_file_carries_javascript_or_css():
    paths = [ROOT / "app.py", *sorted((ROOT / "viz").rglob("*.py"))]
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in [*paths, *sorted((ROOT / "app_pages").rglob("*.py"))]
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if _SOURCE_LINE.match(line)
    ]
    assert found == [], "\n".join(found)
