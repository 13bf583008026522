"""The layers of viz/ and their one import direction, read from the source with ``ast``.

Bottom to top: ``errors``; ``capture`` and ``data`` (independent of each other); ``attention``;
``models``; ``weights``; ``analysis``; ``figures``; ``views``; ``ui``; ``cli``. A module may import
its own layer and the layers below it, never one above or beside it. ``viz/__init__.py`` (the
contract's re-exports) and ``viz/__main__.py`` (``python -m viz``) are facades over the layers: they
may import any layer, and no layer imports them; besides them and ``errors`` no module sits directly
in ``viz/``. Only ``viz/ui``
imports streamlit; pages and ``app.py`` import only streamlit, ``viz.ui`` and ``viz.views``; and no
two modules import each other at module level, directly or through others (imports under
``if TYPE_CHECKING:`` count: a type checker and a reader follow them as the interpreter would).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VIZ = ROOT / "viz"

RANK = {
    "errors": 0,
    "capture": 1,
    "data": 1,
    "attention": 2,
    "models": 3,
    "weights": 4,
    "analysis": 5,
    "figures": 6,
    "views": 7,
    "ui": 8,
    "cli": 9,
}
FACADES = {"viz", "viz.__main__"}
PAGE_IMPORTS = {"streamlit", "viz.ui", "viz.views"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """``viz.weights.sources.zoo`` -> ``weights``; facades and non-viz modules -> None."""
    if module in FACADES or not module.startswith("viz."):
        return None
    return module.split(".")[1]


def module_level(tree: ast.Module) -> list[ast.AST]:
    """Every node outside function bodies: what runs when the module is imported, including the
    branches of ``if TYPE_CHECKING:``, ``try``/``except`` and class bodies. Imports inside a function
    run only when it is called, so they may point back (a deliberate lazy import)."""
    found, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        found.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))
    return found


def imports_of(path: Path, module_level_only: bool = False) -> list[tuple[str, int]]:
    """(imported module, line) for every import in ``path`` (``from viz import x`` gives
    ``viz.x`` when ``viz/x`` is a module or package, else ``viz``); with ``module_level_only``
    only those outside function bodies (:func:`module_level`)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = module_level(tree) if module_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                rel = Path(*sub.split("."))
                is_module = (ROOT / rel).is_dir() or (ROOT / rel).with_suffix(".py").is_file()
                found.append((sub if is_module else node.module, node.lineno))
    return found


def violations(module: str, imported: list[tuple[str, int]]) -> list[str]:
    """What ``module`` may not import, as readable lines."""
    out = []
    mine = layer_of(module)
    for target, line in imported:
        root = target.split(".")[0]
        if root == "streamlit" and mine != "ui":
            out.append(f"{module}:{line} imports streamlit outside viz/ui")
        if root != "viz" or module in FACADES:
            continue
        if target in FACADES:
            out.append(f"{module}:{line} imports the facade {target}")
            continue
        theirs = layer_of(target)
        if mine is None or theirs is None or theirs == mine:
            continue
        if RANK[theirs] >= RANK[mine]:
            out.append(f"{module}:{line} ({mine}) imports {target} ({theirs}): upward or sideways")
    return out


def viz_files() -> list[Path]:
    return sorted(VIZ.rglob("*.py"))


def test_every_module_belongs_to_a_layer():
    unknown = [
        module_name(p)
        for p in viz_files()
        if module_name(p) not in FACADES and layer_of(module_name(p)) not in RANK
    ]
    assert unknown == [], f"modules outside the layers: {unknown}"


def test_only_the_facades_and_errors_sit_directly_in_viz():
    top = sorted(p.name for p in VIZ.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "errors.py"], top


def test_imports_go_one_way():
    found = [v for p in viz_files() for v in violations(module_name(p), imports_of(p))]
    assert found == [], "\n".join(found)


def test_pages_import_only_streamlit_ui_and_views():
    stdlib = set(sys.stdlib_module_names)
    bad = []
    for path in [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py"))]:
        for target, line in imports_of(path):
            if target in PAGE_IMPORTS or target.split(".")[0] in stdlib:
                continue
            bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert bad == [], "\n".join(bad)


def find_cycles(graph: dict[str, set[str]]) -> list[str]:
    """Each import cycle of ``graph`` (module -> the modules it imports) met in a depth-first
    walk, as ``a -> b -> a``."""
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(" -> ".join([*stack[stack.index(t) :], t]))
            elif t not in state:
                visit(t, [*stack, t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return cycles


def test_no_import_cycles_at_module_level():
    names = {module_name(p): p for p in viz_files()}
    graph = {
        m: {t for t, _ in imports_of(p, module_level_only=True) if t in names and t != m}
        for m, p in names.items()
    }
    # a package's __init__ importing its own submodules is how packages re-export: not a cycle
    for m in graph:
        graph[m] = {t for t in graph[m] if not t.startswith(m + ".")}
    cycles = find_cycles(graph)
    assert cycles == [], "\n".join(cycles)


def test_the_cycle_check_counts_type_checking_imports_and_skips_function_bodies(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "import viz.errors\n"
        "if TYPE_CHECKING:\n"
        "    from viz.cli.recipe import Recipe\n"
        "try:\n"
        "    import viz.capture\n"
        "except ImportError:\n"
        "    pass\n"
        "def lazy():\n"
        "    import viz.cli.stats_command\n"
    )
    found = {t for t, _ in imports_of(path, module_level_only=True)}
    assert {"viz.errors", "viz.cli.recipe", "viz.capture"} <= found
    assert "viz.cli.stats_command" not in found
    assert "viz.cli.stats_command" in {t for t, _ in imports_of(path)}


def test_the_cycle_finder_finds_direct_and_indirect_cycles():
    assert find_cycles({"a": {"b"}, "b": {"a"}}) == ["a -> b -> a"]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a -> b -> c -> a"]
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


@pytest.mark.parametrize(
    "module, target, bad",
    [
        ("viz.capture.recorder", "viz.attention", True),  # up
        ("viz.data.scenes", "viz.capture", True),  # sideways
        ("viz.figures.grid", "viz.ui.state", True),
        ("viz.analysis.forward", "viz", True),  # a layer importing the facade
        ("viz.views.common", "streamlit", True),
        ("viz.weights.registry", "viz.models.zoo", False),  # down
        ("viz.ui.state", "streamlit", False),
        ("viz.__main__", "viz.cli.stats_command", False),  # facade
        ("viz.cli.stats_command", "viz.__main__", True),  # a layer importing the entry point
    ],
)
def test_the_checker_itself_catches_a_wrong_import(module, target, bad):
    assert bool(violations(module, [(target, 1)])) is bad
