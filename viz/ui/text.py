"""Text from outside the project (an upload's file name, a message that quotes a file's bytes or a
library's error) put into Streamlit's Markdown so that it is shown as written and nothing else.

Why not plain Markdown: captions, alerts and progress texts render Markdown, so an upload named
``![t](http://host/x.png)`` made every pupil's browser fetch that address, ``**b**`` turned bold,
``$x$`` became maths and a URL a link. Streamlit 1.67 has no escaping function of its own, and
backslash escapes are not enough: its GFM autolinks still turn ``http://…`` and ``www.…`` into
links. A CommonMark code span is: its content is literal (no emphasis, links, images, HTML, maths,
emoji or autolinks), the one rule being a fence longer than any run of backticks inside.
"""

from __future__ import annotations

import re

__all__ = ["escape", "literal", "without_paths"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_BACKTICKS = re.compile(r"`+")
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
# Streamlit's frontend rewrites ":material/" to ":material_" in the whole source, code spans
# included (StreamlitMarkdown, 1.67); an invisible word joiner keeps the name as written.
_ICON = ":material/"
_ICON_KEPT = ":\u2060material/"
# an absolute POSIX path (two parts or more), not part of a URL, ~/… or a relative path
_ABSOLUTE = re.compile(r"(?<![\w:/~.\-])/(?:[^\s/'\"()\[\],;:]+/)+([^\s/'\"()\[\],;:]+)")


def literal(text: str) -> str:
    """``text`` as a Markdown code span that Streamlit shows exactly as written.

    Line breaks and other control characters become spaces (a blank line would end the span).

    Args:
        text: e.g. an upload's file name.

    Returns:
        Markdown: ``literal("a`b")`` is ``"`` a`b ``"`` (a two-backtick fence, padded).
    """
    text = _CONTROL.sub(" ", str(text)).replace(_ICON, _ICON_KEPT)
    fence = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(text)), default=0))
    # CommonMark strips one space on each side of a code span's content, so padding on both
    # sides lets the content begin or end with a backtick or a space
    return f"{fence} {text} {fence}"


def escape(text: str) -> str:
    """``text`` as prose in Markdown: every ASCII punctuation character backslash-escaped, so no
    emphasis, image, link syntax, HTML or maths. For short texts that may quote a few bytes of a
    file (an image library's error); a name goes through :func:`literal`, which also stops
    autolinks."""
    return _PUNCTUATION.sub(r"\\\1", _CONTROL.sub(" ", str(text)))


def without_paths(text: str) -> str:
    """``text`` with every absolute file path replaced by its last part: messages written for
    pupils never show the server's folders (a library's ``OSError`` quotes the full path).

    Example: ``"No such file: '/srv/app/weights/x.pth'"`` → ``"No such file: 'x.pth'"``.
    """
    return _ABSOLUTE.sub(r"\1", str(text))
