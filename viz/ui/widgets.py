"""Widgets the pages share."""

from __future__ import annotations

import streamlit as st

from viz.analysis.forward import Analysis, export_npz, nl_layers, stats_csv
from viz.figures.web_assets import web_file
from viz.ui.state import analyse_many, current_image


def downloads(analysis: Analysis, stem: str, csv_label: str, rows, csv_name: str) -> None:
    """Two buttons side by side: every captured tensor (``<stem>_tensors.npz``, built only when
    clicked) and the page's table as CSV."""
    d1, d2 = st.columns(2)
    d1.download_button(
        "Captured tensors (.npz)",
        lambda: export_npz(analysis),  # built when clicked, not on every rerun
        f"{stem}_tensors.npz",
        mime="application/octet-stream",
    )
    d2.download_button(csv_label, stats_csv(rows), csv_name, mime="text/csv")


def page_style(name: str) -> None:
    """Add the stylesheet ``viz/figures/web/<name>`` to the page: CSS lives in files, not in
    Python strings (a ``<style>`` element through ``st.html``, which shows nothing)."""
    st.html(f"<style>\n{web_file(name)}</style>")


def require_image() -> tuple:
    """``(image_hash, PIL image, caption)`` of the sidebar, or stop the page with a hint."""
    chosen = current_image(hint=True)
    if chosen is None:
        st.stop()
    return chosen


def analyse_with_progress(names, image_hash: str, image, text: str, step: str = "{name} ({i}/{n})"):
    """:func:`~viz.ui.state.analyse_many` under a progress bar (``step`` formats each model's line
    with ``name``, ``i`` counted from 1, ``n``); the bar is removed when done."""
    progress = st.progress(0.0, text=text)
    out = analyse_many(
        names,
        image_hash,
        image,
        on_step=lambda i, n, name: progress.progress(
            i / n, text=step.format(name=name, i=i + 1, n=n)
        ),
    )
    progress.empty()  # (st.status would sleep 50 ms per run: one classroom upload is many runs)
    return out


def nl_layer_picker(analysis: Analysis, key: str) -> str:
    """The Non-local layer a page shows: a picker when the model has several NL blocks (the
    official NL ResNet), the only one otherwise (every zoo model)."""
    layers = nl_layers(analysis)
    if len(layers) == 1:
        return layers[0]
    return st.selectbox(
        "Non-local layer",
        layers,
        format_func=lambda p: f"{p} ({analysis.records[p].kind})",
        key=key,
    )
