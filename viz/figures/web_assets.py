"""The in-browser components' JavaScript and CSS, read from the package's ``web/`` folder.

The explorer and the query grid each reach the browser as ONE inline module of Streamlit's
components v2 (no build step, no CDN, no npm package at run time). Their code lives in real files
(``web/*.mjs``, ``web/*.css``, shipped as package data) so that editors, ``node --check`` and
node's own unit tests read it. A component's file imports the shared ones with plain
``import { a, b } from "./helpers.mjs";`` lines, which node understands as they are; here each such
line is replaced by the imported file's text (each file once, before its importer), so the
browser gets one self-contained module, as a blob cannot resolve relative imports.
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files

# the only import form inlined: named imports from a sibling file, alone on its line
_IMPORT = re.compile(r'^import \{[\w\s,]*\} from "\./([\w-]+\.mjs)";\n', re.MULTILINE)
_ANY_IMPORT = re.compile(r"^\s*import\b", re.MULTILINE)


@functools.cache
def web_file(name: str) -> str:
    """The text of ``viz/figures/web/<name>`` (read through the installed package)."""
    return (files("viz.figures") / "web" / name).read_text(encoding="utf-8")


def inline_module(name: str) -> str:
    """``web/<name>`` with its sibling imports inlined: one ES module text for components v2.

    Raises:
        ValueError: a file imports in another form (``as`` renames, defaults, other paths),
            which joining the text could not honour, or the imports form a cycle.
    """
    order: list[str] = []
    open_: list[str] = []  # the import chain being followed, to name a cycle

    def visit(file: str) -> None:
        if file in order:
            return
        if file in open_:
            raise ValueError(f"import cycle: {' -> '.join([*open_, file])}")
        open_.append(file)
        text = web_file(file)
        for dep in _IMPORT.findall(text):
            visit(dep)
        if _ANY_IMPORT.search(_IMPORT.sub("", text)):
            raise ValueError(f'{file}: only `import {{ a, b }} from "./file.mjs";` lines inline')
        open_.pop()
        order.append(file)

    visit(name)
    return "\n".join(f"// ---- {f} ----\n{_IMPORT.sub('', web_file(f))}" for f in order)


EXPLORER_JS = inline_module("explorer.mjs")
EXPLORER_CSS = web_file("explorer.css")
QUERY_GRID_JS = inline_module("query_grid.mjs")
QUERY_GRID_CSS = web_file("query_grid.css")

__all__ = [
    "EXPLORER_CSS",
    "EXPLORER_JS",
    "QUERY_GRID_CSS",
    "QUERY_GRID_JS",
    "inline_module",
    "web_file",
]
