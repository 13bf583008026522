"""The in-browser explorer's Streamlit side: components-v2 registration and the pin log.

Hovering is drawn in the browser alone. A click / Enter / Clear appends an entry to a log the
browser keeps for the life of the page and sends the WHOLE log each time (Streamlit coalesces rerun
requests that arrive while a script runs, newest value wins: clicks 40 ms apart were lost when
only "the clicked cell" was sent). Python applies the entries it has not applied yet, in order,
in the callback that runs before the fragment reruns, so the statistics drawn after the explorer
already use them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import streamlit as st

from viz.figures.web_assets import EXPLORER_CSS, EXPLORER_JS

Pin = tuple[int, int]


@functools.lru_cache(maxsize=1)
def _explorer_component():
    return st.components.v2.component(
        "vae_explorer", html="", css=EXPLORER_CSS, js=EXPLORER_JS, isolate_styles=True
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


def apply_pin_log(
    log, mark, token: str, pins: Sequence[Pin], max_pins: int, grid_hw: tuple[int, int]
) -> tuple[list[Pin], tuple]:
    """Apply the entries of a browser pin log that were not applied yet, in order.

    Args:
        log: ``{"id": str, "entries": [[op, row, col, token], ...]}`` as the browser sends it
            (op: ``"pin"``, ``"unpin"`` or ``"clear"``), or None.
        mark: ``(log_id, n_applied)`` from the previous call, or None.
        token: the (model, image, layer) the entries must belong to; others are skipped.
        pins: the pinned queries so far, in pin order.
        max_pins: the oldest pins are dropped beyond this many.
        grid_hw: (h, w); pins outside the grid are ignored.

    Returns:
        ``(pins, mark)``. Applying the same log again changes nothing (the mark counts what was
        applied); a log with another id (a reloaded page) is applied from its start.
    """
    out = [(int(r), int(c)) for r, c in pins]
    log_id, entries = _get(log, "id"), _get(log, "entries") or []
    if log_id is None:
        return out, mark
    start = mark[1] if mark and mark[0] == log_id else 0
    h, w = grid_hw
    for entry in entries[start:]:
        try:
            op, r, c, t = str(entry[0]), int(entry[1]), int(entry[2]), str(entry[3])
        except (TypeError, ValueError, IndexError):
            continue
        if t != token:
            continue
        if op == "clear":
            out = []
        elif op == "unpin":
            out = [p for p in out if p != (r, c)]
        elif op == "pin" and (r, c) not in out and 0 <= r < h and 0 <= c < w:
            out = (out + [(r, c)])[-max_pins:] if max_pins > 0 else out
    return out, (log_id, len(entries))


# what a render carries when the page already holds the payload (the rest is sent once)
LIGHT_FIELDS = ("mode", "id", "opacity", "max_pins", "pinnable", "grid", "full")


def explorer_data(payload: dict, have, need, served) -> tuple[dict, object]:
    """The payload, or only its light fields when the browser already holds it.

    Args:
        payload: the full payload.
        have: the payload id the browser says it holds (sent with its pins), or None.
        need: ``{"id", "nonce"}`` when the browser asks for the full payload again, or None.
        served: the nonce of the last ``need`` answered.

    Returns:
        ``(data, served)``: the full payload for a new id or an unanswered ``need``, else the
        light fields with ``lite: True``.
    """
    nonce = _get(need, "nonce")
    if _get(need, "id") == payload.get("id") and nonce is not None and nonce != served:
        return dict(payload), nonce
    if have is not None and have == payload.get("id"):
        return {**{k: payload[k] for k in LIGHT_FIELDS if k in payload}, "lite": True}, served
    return dict(payload), served


def cached_payload(payload_id: str, build) -> dict:
    """``build()``, kept in this session's state per id (the last 6), so a pin rerun does not
    re-encode the picture and re-quantise the rows. Per session: nothing reaches another user."""
    store = st.session_state.setdefault("_vae_explorer_payloads", {})
    if payload_id not in store:
        store[payload_id] = build()
        while len(store) > 6:
            store.pop(next(iter(store)))
    return store[payload_id]


def explorer(
    key: str,
    payload: dict,
    pins_key: str | None = None,
    token: str = "",
    opacity: float | None = None,
) -> list[Pin]:
    """Draw the explorer (a payload of :mod:`viz.figures.explorer_payload`) and keep its pins.

    Args:
        key: the element's key (one log per key in the browser).
        payload: what the browser draws.
        pins_key: session-state key of the pinned list (only for modes that pin).
        token: the (model, image, layer) identity the pins belong to.
        opacity: the map's opacity, when it differs from the payload's (a slider).

    Returns:
        the pinned (row, col) cells after this run's clicks (empty when nothing pins).
    """
    mark_key, renders_key = f"{key}:applied", f"{key}:renders"
    grid_hw = tuple(payload.get("full", payload.get("grid", (0, 0))))
    max_pins = int(payload.get("max_pins", 0))

    def _on_pins() -> None:
        if pins_key is None:
            return
        pins, st.session_state[mark_key] = apply_pin_log(
            _get(st.session_state.get(key), "pins"),
            st.session_state.get(mark_key),
            token,
            st.session_state.get(pins_key, []),
            max_pins,
            grid_hw,
        )
        st.session_state[pins_key] = pins

    st.session_state[renders_key] = st.session_state.get(renders_key, 0) + 1
    mark = st.session_state.get(mark_key) or (None, 0)
    pins = list(st.session_state.get(pins_key, [])) if pins_key else []
    state = st.session_state.get(key)
    served_key = f"{key}:served"
    if opacity is not None:
        payload = {**payload, "opacity": float(opacity)}
    sent, st.session_state[served_key] = explorer_data(
        payload,
        _get(_get(state, "pins"), "have"),
        _get(state, "need"),
        st.session_state.get(served_key),
    )
    data = {
        **sent,
        "key": key,
        "token": token,
        "pins": [[int(r), int(c)] for r, c in pins],
        "log_id": mark[0],
        "applied": mark[1],
        "render": st.session_state[renders_key],
    }
    try:
        _explorer_component()(
            key=key,
            data=data,
            default={"pins": None, "need": None},
            on_pins_change=_on_pins,
            on_need_change=lambda: None,  # the rerun itself answers: the full payload is sent
            height="content",
        )
    except RuntimeError as exc:
        # Components v2 find the runtime through a process-wide singleton; AppTest sessions in
        # parallel threads replace it under each other ("Runtime hasn't been created!"). A real
        # server has one runtime. Either way the page goes on (Streamlit's rerun / stop signals
        # are BaseExceptions: not caught).
        st.caption(f"The explorer is not available here ({exc}).")
    return pins
