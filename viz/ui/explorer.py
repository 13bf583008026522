"""The Non-local click grid: a components-v2 element that keeps a log of every click in the browser.

A plotly chart's selection is "the points selected now", and Streamlit coalesces rerun requests
that arrive while a script runs (newest widget value wins), so clicks 40 ms apart were lost. Here
the browser appends every click to a log and sends the WHOLE log each time; Python applies the
entries it has not applied yet, in order. Whatever gets coalesced, the newest log holds them all.
"""

from __future__ import annotations

import functools

import streamlit as st

from viz.figures.explorer import CLICK_GRID_CSS, CLICK_GRID_JS


@functools.lru_cache(maxsize=1)
def _click_grid_component():

    return st.components.v2.component(
        "vae_click_grid", html="", css=CLICK_GRID_CSS, js=CLICK_GRID_JS, isolate_styles=True
    )


def _get(obj, name):
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    try:
        return obj[name]
    except (KeyError, TypeError, IndexError):
        return getattr(obj, name, None)


def apply_click_log(log, mark, token: str, add) -> tuple:
    """Apply the entries of a browser click log not applied yet, in click order.

    Args:
        log: ``{"id": str, "cells": [[row, col, token], ...]}`` as the browser sends it, or None.
        mark: ``(log_id, n_applied)`` returned by the previous call (or None).
        token: which grid the clicks must belong to (entries of another grid are skipped).
        add: ``(row, col) -> None`` applied to each new click of this grid.

    Returns:
        the new mark. A log with another id (a reloaded page) is applied from its start.
    """
    log_id, cells = _get(log, "id"), _get(log, "cells") or []
    if log_id is None:
        return mark
    start = mark[1] if mark and mark[0] == log_id else 0
    for entry in cells[start:]:
        try:
            r, c, t = int(entry[0]), int(entry[1]), str(entry[2])
        except (TypeError, ValueError, IndexError):
            continue
        if t == token:
            add(r, c)
    return (log_id, len(cells))


def click_grid(key: str, payload: dict, token: str, add) -> None:
    """Draw the click grid (``viz.figures.click_grid_payload``) and apply every click to ``add``.

    Clicks are applied in the callback that runs before the next (fragment) rerun, so the figures
    drawn after the grid already show them.
    """

    mark_key = f"{key}:applied"

    def _on_clicks() -> None:
        value = st.session_state.get(key)
        st.session_state[mark_key] = apply_click_log(
            _get(value, "clicks"), st.session_state.get(mark_key), token, add
        )

    mark = st.session_state.get(mark_key) or (None, 0)
    data = {**payload, "token": token, "log_id": mark[0], "applied": mark[1]}
    try:
        _click_grid_component()(
            key=key,
            data=data,
            default={"clicks": None},
            on_clicks_change=_on_clicks,
            height="content",
        )
    except RuntimeError as exc:
        # Components v2 look the runtime up through a process-wide singleton; AppTest sessions
        # run in parallel threads replace it under each other ("Runtime hasn't been created!").
        # A real server has one runtime. Either way the page must go on: the row / column inputs
        # add queries too. (Streamlit's rerun / stop signals are BaseExceptions: not caught.)
        st.caption(
            f"The click grid is not available here ({exc}); use row / column and “Add query”."
        )
