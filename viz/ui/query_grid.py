"""The in-browser query grid's Streamlit side: components-v2 registration, nothing sent back.

The grid size and opacity move in the browser (``viz/figures/web/query_grid.mjs``), so the
component reports no state and never reruns the script; the payload is built once per
(model, image, layer) and kept in the session (:func:`viz.ui.explorer.cached_payload`).
"""

from __future__ import annotations

import functools

import streamlit as st

from viz.figures.web_assets import QUERY_GRID_CSS, QUERY_GRID_JS


@functools.lru_cache(maxsize=1)
def _query_grid_component():
    return st.components.v2.component(
        "vae_query_grid", html="", css=QUERY_GRID_CSS, js=QUERY_GRID_JS, isolate_styles=True
    )


def query_grid(key: str, payload: dict) -> None:
    """Draw the query grid (a payload of :mod:`viz.figures.query_grid_payload`).

    Args:
        key: the element's key (the browser keeps the user's k and opacity per key).
        payload: what the browser draws.
    """
    try:
        _query_grid_component()(key=key, data={**payload, "key": key}, height="content")
    except RuntimeError as exc:
        # see viz.ui.explorer.explorer: AppTest threads can lose components v2's runtime
        st.caption(f"The query grid is not available here ({exc}).")
