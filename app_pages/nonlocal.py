"""Non-local attention: hover any query to see its map at once, pin several to compare them."""

import streamlit as st

from viz import ui, views

MAX_QUERIES = 12

st.title("Non-local queries")
st.caption(
    "Every position of the feature map is a query with its own attention map over all keys. "
    "Hover the image to see any query's map at once (drawn in your browser: no rerun); click to "
    "pin queries and compare them. The model is not re-run."
)

analysis = ui.page_analysis(ui.NL_KINDS, "Non-local block", key="nonlocal")

layer = ui.nl_layer_picker(analysis, key="nl_layer")
record = analysis.records[layer]
(h, w), (kh, kw) = ui.nl_grids(record)

with st.expander("The module and this run's tensors", expanded=False):
    st.markdown(views.module_explainer(record.kind, record))

qkey = f"nl_queries:{analysis.backbone}:{analysis.image_hash}:{layer}"
if qkey not in st.session_state:
    # GCNet's Fig. 1 uses three queries on different content; start with three spread cells.
    st.session_state[qkey] = [(h // 4, w // 4), (h // 2, w // 2), (3 * h // 4, 3 * w // 4)]


def _clear() -> None:
    st.session_state[qkey] = []


def _add(row: int, col: int) -> None:
    q = st.session_state[qkey]
    if (row, col) not in q and 0 <= row < h and 0 <= col < w:
        st.session_state[qkey] = (q + [(row, col)])[-MAX_QUERIES:]


def _pinned_section(pins: list[tuple[int, int]]) -> None:
    """The pinned queries compared: what a pin changes, drawn right after the explorer."""
    pinned = views.nonlocal_pins(analysis, layer, pins)
    m1, m2 = st.columns(2)
    m1.metric("pins: mean (1 − cos)/2", views.fmt(pinned.mean_pair(pinned.cosine)))
    m2.metric("pins: mean JSD", views.fmt(pinned.mean_pair(pinned.jsd)))
    if pinned.queries:
        st.markdown(views.pins_markdown(pinned))
        st.caption(
            "entropy: of the map / log N' (1 = uniform); peak key: where it is highest; "
            "“to others”: mean over the other pins."
        )
        d1, d2 = st.columns(2)
        d1.download_button(
            "Pinned statistics (CSV)",
            ui.stats_csv(pinned.table()),
            "nonlocal_pins.csv",
            mime="text/csv",
            key="nl_pins_csv",
        )
        d2.download_button(
            "Pinned maps (.npz)",
            lambda: views.nonlocal_pins_npz(analysis, layer, pinned),
            "nonlocal_pins.npz",
            mime="application/octet-stream",
            key="nl_pins_npz",
        )
    # after the statistics: when this caption shows, the statistics of these pins are drawn
    st.caption("Queries: " + (", ".join(f"({r}, {c})" for r, c in pinned.queries) or "none"))


@st.fragment
def _explore() -> None:
    """The explorer and everything a pin changes: a pin reruns this fragment alone."""
    opacity = st.slider("Map opacity", 0.0, 1.0, 0.6, 0.05, key="nl_opacity")
    left, right = st.columns([3, 2])
    with left:
        st.markdown(
            f"**Hover the image** to draw a query's map ({h}×{w} queries, {kh}×{kw} keys); "
            "**click** or **Enter** pins it, arrows move, Esc clears. Each map is coloured over "
            "its own range (dark = its least attended key, bright = its most)."
        )
        payload = ui.cached_payload(
            views.explorer_id(analysis, "queries", layer),
            lambda: views.nonlocal_explorer(analysis, layer, max_pins=MAX_QUERIES),
        )
        pins = ui.explorer("nl_explorer", payload, pins_key=qkey, token=qkey, opacity=opacity)
        if payload["note"]:
            st.caption(payload["note"])
    with right:
        _pinned_section(pins)
    c1, c2, c3, c4 = st.columns([1, 1, 1, 2])
    c1.number_input("row", 0, h - 1, h // 2, key="nl_row")
    c2.number_input("column", 0, w - 1, w // 2, key="nl_col")
    c3.button(
        "Add query",
        # read the inputs when clicked: args bound at render time would be the previous values
        on_click=lambda: _add(int(st.session_state["nl_row"]), int(st.session_state["nl_col"])),
        key="nl_add",
    )
    c4.button("Clear queries", on_click=_clear, key="nl_clear")
    if st.toggle("Pinned maps as figures (PNG export)", value=False, key="nl_figures"):
        figs = views.nonlocal_view(analysis, layer, pins, opacity=opacity)
        if figs.maps is not None:
            st.plotly_chart(figs.maps, key="nl_maps")
            st.plotly_chart(figs.overlay, key="nl_overlay")
        else:
            st.info("No query pinned yet.")


_explore()
st.plotly_chart(views.nonlocal_view(analysis, layer, []).mean, key="nl_mean")

stats = ui.nl_statistics(record)
m = st.columns(4)
m[0].metric("input distance", views.fmt(stats["cos_input"]))
m[1].metric("output distance", views.fmt(stats["cos_output"]))
m[2].metric("attention distance", views.fmt(stats["cos_att"]))
m[3].metric("JSD of rows", views.fmt(stats["jsd_att"]))
st.caption(
    "Mean (1 − cos)/2 over all ordered pairs of positions (GCNet Table 1). "
    "See **Query independence** for all four forms next to the paper's numbers."
)

row = {"backbone": analysis.backbone, "layer": layer, "form": record.kind, **stats}
ui.downloads(analysis, "nonlocal", "Statistics (CSV)", [row], "nonlocal_stats.csv")
