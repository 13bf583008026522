"""Non-local attention for clicked query positions: several at once, side by side and overlaid."""

import streamlit as st

from viz import ui, views

MAX_QUERIES = 12

st.title("Non-local queries")
st.caption(
    "Every position of the feature map is a query with its own attention map over all keys. "
    "Click cells on the image to add queries; the model is not re-run."
)

analysis = ui.page_analysis(ui.NL_KINDS, "Non-local block", key="nonlocal")

layers = ui.nl_layers(analysis)
if len(layers) > 1:
    layer = st.selectbox(
        "Non-local layer",
        layers,
        format_func=lambda p: f"{p} ({analysis.records[p].kind})",
        key="nl_layer",
    )
else:
    layer = layers[0]
record = analysis.records[layer]
(h, w), (kh, kw) = ui.nl_grids(record)
image_hw = analysis.image.shape[:2]

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


@st.fragment
def _explore() -> None:
    """Everything a click, a query button or the opacity slider changes: reruns alone."""
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
    opacity = st.slider("Map opacity", 0.0, 1.0, 0.6, 0.05, key="nl_opacity")
    queries = st.session_state[qkey]
    figs = views.nonlocal_view(analysis, layer, queries, opacity=opacity, click=False)
    left, right = st.columns([1, 2])
    with left:
        st.markdown(f"**Click cells to add queries** ({h}×{w} grid; shaded: mean map)")
        ui.click_grid(
            "nl_grid",
            views.click_grid_payload(
                analysis.image, (h, w), queries, heat=views.nl_mean_map(record), opacity=0.35
            ),
            token=qkey,
            add=_add,
        )
        st.caption("Queries: " + (", ".join(f"({r}, {c})" for r, c in queries) or "none"))
    with right:
        if figs.maps is not None:
            st.plotly_chart(figs.maps, key="nl_maps")
        else:
            st.info("No query yet: click a cell or use “Add query”.")
    a, b = st.columns(2)
    if figs.overlay is not None:
        with a:
            st.plotly_chart(figs.overlay, key="nl_overlay")
    with b:
        st.plotly_chart(figs.mean, key="nl_mean")


_explore()

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
