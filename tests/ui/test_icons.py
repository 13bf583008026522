"""Material icons, not emoji: emoji render as empty boxes where no emoji font is installed.

Every string literal in the pages, the entry script and viz/ui is read with ``ast`` (f-strings
included); none may hold an emoji code point, and every ``icon=`` / ``page_icon=`` given as a
literal must be a ``:material/name:`` icon. Ordinary text symbols (×, –, ², →, ·, …) stay allowed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "viz" / "ui").glob("*.py")]
)

# Unicode blocks whose characters are emoji or render as emoji (plus the joiners that build them).
EMOJI_RANGES = (
    (0x1F000, 0x1FAFF),  # mahjong .. symbols and pictographs extended-A (incl. flags, faces)
    (0x2600, 0x27BF),  # miscellaneous symbols (⚠, ☀) and dingbats (✅, ❌)
    (0x2B50, 0x2B55),  # ⭐ ⭕
    (0x231A, 0x231B),  # ⌚ ⌛
    (0x23E9, 0x23FA),  # ⏩ .. ⏺
    (0xFE0F, 0xFE0F),  # variation selector-16: "draw the previous character as emoji"
    (0x200D, 0x200D),  # zero-width joiner of emoji sequences
    (0xE0020, 0xE007F),  # emoji tag characters
)
MATERIAL = re.compile(r"^:material/[a-z0-9_]+:$")


def emoji_in(text: str) -> list[str]:
    """The emoji code points in ``text`` (as ``U+XXXX``)."""
    return [
        f"U+{ord(ch):04X}" for ch in text if any(lo <= ord(ch) <= hi for lo, hi in EMOJI_RANGES)
    ]


def string_literals(path: Path):
    """(line, text) of every string constant in ``path``, f-string parts included."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def icon_arguments(path: Path):
    """(line, value) of every literal ``icon=`` / ``page_icon=`` keyword argument in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in {"icon", "page_icon"} and isinstance(kw.value, ast.Constant):
                    yield node.lineno, kw.value.value


def test_the_detector_catches_emoji_and_spares_text_symbols():
    assert emoji_in("careful ⚠️") == ["U+26A0", "U+FE0F"]
    assert emoji_in("🔥 hot ✅ done 👍🏽 ⭐") == [
        "U+1F525",
        "U+2705",
        "U+1F44D",
        "U+1F3FD",
        "U+2B50",
    ]
    assert emoji_in("3 × 3 – x² → y · z … (1 − cos)/2 ∫ μ θ ≤ ©") == []


def test_sources_are_found():
    names = {p.name for p in SOURCES}
    assert {"app.py", "home.py", "channel.py", "sidebar.py", "state.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_emoji_in_source_strings(path):
    found = [(line, emoji_in(text)) for line, text in string_literals(path) if emoji_in(text)]
    assert not found, f"{path.name}: emoji at lines {found}; use a :material/...: icon"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_icons_are_material(path):
    bad = [(line, value) for line, value in icon_arguments(path) if not MATERIAL.match(str(value))]
    assert not bad, f"{path.name}: icons that are not :material/name: {bad}"
