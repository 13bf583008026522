"""Widgets the pages share."""

from __future__ import annotations

import streamlit as st

from viz.analysis.run import Analysis, export_npz, stats_csv
from viz.ui.state import current_image


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


def require_image() -> tuple:
    """``(image_hash, PIL image, caption)`` of the sidebar, or stop the page with a hint."""
    chosen = current_image(hint=True)
    if chosen is None:
        st.stop()
    return chosen
