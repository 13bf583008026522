"""Streamlit glue: the sidebar's choice in session state, cached models (``st.cache_resource``)
and cached analyses (``st.cache_data``, bounded), and the "switch to a model that has it" widget.

This and the other :mod:`viz.ui` modules are the only code that imports streamlit.
"""

from __future__ import annotations

import functools
import threading
import time

import numpy as np
import streamlit as st

from viz.analysis.attribution import attribute
from viz.analysis.forward import DEFAULT_BACKBONE, Analysis, analyse, records_of_kind, zoo_model_for
from viz.analysis.turns import COMPUTE
from viz.errors import ModelUnavailable, WeightsUnavailable
from viz.ui.text import without_paths
from viz.weights.registry import load_backbone, weights_present

# Session-state keys shared by app.py and the pages.
BACKBONE_KEY = "backbone"


IMAGE_KEY = "va_image"  # (image_hash, PIL image, caption: Markdown, names via viz.ui.text.literal)


# Failed loads are remembered briefly so a page does not retry a slow failing download on every
# rerun, yet weights that arrive later are picked up without restarting the server.
_FAILURES: dict[str, tuple[float, str]] = {}


_FAILURES_LOCK = threading.Lock()


FAILURE_TTL_S = 30.0


@functools.lru_cache(maxsize=1)
def _cached_loader():

    @st.cache_resource(show_spinner=False, max_entries=16)
    def _load_backbone(name: str):
        return load_backbone(name)

    return _load_backbone


def get_backbone(name: str):
    """The loaded backbone, shared by all sessions (``st.cache_resource``).

    Raises:
        ModelUnavailable: weights missing or unusable, unknown name (message for the page).
    """

    with _FAILURES_LOCK:
        failed = _FAILURES.get(name)
    if failed and time.monotonic() - failed[0] < FAILURE_TTL_S:
        raise ModelUnavailable(failed[1])
    try:
        return _cached_loader()(name)
    except WeightsUnavailable as exc:
        message = f"Weights for **{name}** are not available here: {exc}"
    except KeyError as exc:
        message = f"Unknown backbone {name!r}: {exc}"
    except (OSError, RuntimeError, ValueError, ImportError) as exc:
        # a broken file, device or optional package: the page says so; a bug still raises
        message = f"**{name}** could not be loaded ({type(exc).__name__}: {exc})"
    message = without_paths(message)  # a library's error may quote the server's folders
    with _FAILURES_LOCK:
        _FAILURES[name] = (time.monotonic(), message)
    raise ModelUnavailable(message)


# Weights checks are file stats (~0.1 ms each), but the sidebar labels every backbone on every rerun
# of every session: a result is reused for a few seconds, so weights copied in show up soon after.
_PRESENCE: dict[str, tuple[float, bool]] = {}


PRESENCE_TTL_S = 5.0


def weights_look_present(name: str) -> bool:
    """:func:`viz.weights.registry.weights_present`, reused for :data:`PRESENCE_TTL_S` seconds."""
    now = time.monotonic()
    cached = _PRESENCE.get(name)
    if cached is not None and now - cached[0] < PRESENCE_TTL_S:
        return cached[1]
    present = weights_present(name)
    _PRESENCE[name] = (now, present)
    return present


def recent_failures() -> dict[str, str]:
    """Backbones whose load failed within :data:`FAILURE_TTL_S`, with the message shown for them
    (pickers then do not default to them until the next retry is due)."""
    now = time.monotonic()
    with _FAILURES_LOCK:
        return {n: m for n, (t, m) in _FAILURES.items() if now - t < FAILURE_TTL_S}


@functools.lru_cache(maxsize=1)
def _cached_analyser():

    @st.cache_data(max_entries=48, show_spinner=False)
    def _analysis(name: str, image_hash: str, _image) -> Analysis:
        # ``_image`` is not hashed: (name, image_hash) identify the work. Concurrent sessions
        # take turns (viz.analysis.turns): the first upload is not slowed by the sixth.
        with COMPUTE.turn():
            return analyse(get_backbone(name), _image, image_hash)

    return _analysis


def get_analysis(name: str, image_hash: str, image) -> Analysis:
    """Cached :func:`analyse` keyed by (backbone name, image hash); each caller gets its own copy.

    Raises:
        ModelUnavailable: the backbone cannot be loaded.
    """
    return _cached_analyser()(name, image_hash, image)


def current_image(hint: bool = False):
    """``(image_hash, PIL image, caption)`` chosen in the sidebar, or ``None`` (with ``hint``, the
    page also tells the user to choose one)."""

    chosen = st.session_state.get(IMAGE_KEY)
    if chosen is None and hint:
        st.info("Choose a sample image or upload one in the sidebar.")
    return chosen


def analyse_many(names, image_hash: str, image, on_step=None):
    """Cached analyses of several backbones on one image, skipping those that cannot load.

    Args:
        names: backbone names, run in order.
        image_hash: cache key of ``image``.
        image: the sidebar's PIL image.
        on_step: ``(i, n, name)`` called before each backbone, for progress display.

    Returns:
        ``(analyses, missing)``: name -> :class:`Analysis`, and name -> why it is unavailable.
    """
    analyses, missing = {}, {}
    for i, name in enumerate(names):
        if on_step is not None:
            on_step(i, len(names), name)
        try:
            analyses[name] = get_analysis(name, image_hash, image)
        except ModelUnavailable as exc:
            missing[name] = str(exc)
    return analyses, missing


def current_analysis(name: str | None = None) -> Analysis | None:
    """The sidebar's backbone (or ``name``) run on the sidebar's image, drawing a warning and
    returning ``None`` when that is impossible (no image, weights missing)."""

    name = name or st.session_state.get(BACKBONE_KEY) or DEFAULT_BACKBONE
    chosen = current_image(hint=True)
    if chosen is None:
        return None
    image_hash, image, _ = chosen
    try:
        with st.spinner(f"Running {name} on the image…"):
            return get_analysis(name, image_hash, image)
    except ModelUnavailable as exc:
        st.warning(str(exc), icon=":material/warning:")
        return None


def switch_backbone(name: str) -> None:
    """Callback for "switch to a model that has it" buttons (runs before the next script run)."""

    st.session_state[BACKBONE_KEY] = name


def require_kinds(analysis: Analysis, kinds, what: str) -> bool:
    """True when ``analysis`` has a record of one of ``kinds``; otherwise say so, offer a one-click
    switch to a zoo model that has one, and return False. The module pages no longer use it: they
    call :func:`viz.ui.page_model.page_analysis`, which picks a backbone that has the module.

    Args:
        analysis: the current analysis.
        kinds: attention kinds the page draws.
        what: human name of the module family, e.g. ``"a Non-local block"``.
    """

    if records_of_kind(analysis, kinds):
        return True
    st.info(f"**{analysis.backbone}** has no {what}.")
    target = zoo_model_for(kinds)
    if target is not None:
        st.button(
            f"Switch to {target}",
            on_click=switch_backbone,
            args=(target,),
            type="primary",
            key=f"switch_{target}",
        )
    return False


@functools.lru_cache(maxsize=1)
def _cached_attributor():

    @st.cache_data(max_entries=16, show_spinner=False)
    def _attribution(
        name: str, image_hash: str, _image, target: int | None, steps: int
    ) -> dict[str, np.ndarray]:

        with COMPUTE.turn():
            return attribute(get_backbone(name), _image, target=target, steps=steps)

    return _attribution


def get_attribution(
    name: str, image_hash: str, image, target: int | None = None, steps: int = 16
) -> dict[str, np.ndarray]:
    """Cached captum Grad-CAM + Integrated Gradients maps ((h, w) in [0, 1], aligned with the image
    the model saw), keyed by (backbone, image hash, target, steps).

    Raises:
        ModelUnavailable: the backbone cannot be loaded.
        ImportError: ``viz.analysis.attribution`` (captum) is not available.
    """
    return _cached_attributor()(name, image_hash, image, target, steps)
