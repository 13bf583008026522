"""viz.ui.text: outside text in Streamlit Markdown, shown as written. What the browser makes of it
is checked in tests/browser/test_hostile_names.py; here, the CommonMark rules it relies on."""

from __future__ import annotations

import re

import pytest

from viz.ui.text import escape, literal, without_paths

NAMES = [
    "photo.png",
    "![t](http://127.0.0.1:9/x.png) <img src=x onerror=alert(1)> **b**",
    "`tick` and ``two`` and ```three```",
    "`starts and ends with a backtick`",
    " spaced ",
    "$x$ :red[r] :smile: _u_ [l](www.example.com) a@b.co # h",
]


def _span_content(md: str) -> str:
    """The content of a code span as CommonMark reads it: between equal fences, with one space
    stripped on each side when both sides have one."""
    match = re.fullmatch(r"(`+)(.*)\1", md, re.S)
    assert match, md
    fence, inner = match.groups()
    assert not re.search(rf"(?<!`){fence}(?!`)", inner), "the fence closes early"
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip(" "):
        inner = inner[1:-1]
    return inner


@pytest.mark.parametrize("name", NAMES)
def test_a_name_is_one_code_span_with_the_name_inside(name):
    assert _span_content(literal(name)) == name


def test_line_breaks_cannot_end_the_span_and_icons_keep_their_text():
    md = literal("a\n\n**b**\r\n# c\x00")
    assert "\n" not in md and "\r" not in md and "\x00" not in md
    assert _span_content(md) == "a **b** # c "
    # Streamlit rewrites ":material/" everywhere, code spans included; a word joiner stops it
    assert ":material/" not in literal("see :material/home: here")
    assert _span_content(literal(":material/home:")).replace("\u2060", "") == ":material/home:"


def test_escape_leaves_no_markup_character_unescaped():
    text = "**b** <img src=x> ![t](u) $x$ `c` _u_ :material/home: 5 × 3"
    md = escape(text)
    assert re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", md) == text  # backslashes are all it adds
    assert not re.search(r"(?<!\\)[*<>!\[\]()$`_]", md)
    assert ":material/" not in md


def test_paths_lose_their_folders_but_urls_and_settings_stay():
    assert without_paths("No such file: '/srv/app/weights/x.pth'") == "No such file: 'x.pth'"
    assert without_paths("[Errno 13] /root/.cache/torch/hub/m.pth") == "[Errno 13] m.pth"
    kept = "fetch https://download.pytorch.org/models/m.pth into ~/.cache/torch or weights/x.pth"
    assert without_paths(kept) == kept
