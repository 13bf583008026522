"""A²-Nets: the n gather maps, the distribute weights, one position's distribution, descriptors G."""

import streamlit as st

from viz import ui, views

st.title("Double attention (A²)")
st.caption(
    "Gather: n softmax maps over positions pool n global descriptors. Distribute: at each position "
    "a softmax over the n descriptors decides which ones it receives."
)

analysis = ui.page_analysis("a2", "double-attention (A²) block", key="double_attention")

layers = list(ui.records_of_kind(analysis, "a2"))
layer = st.selectbox("A² layer", layers, key="a2_layer") if len(layers) > 1 else layers[0]
record = analysis.records[layer]
n, h, w = record.tensors["distribute"].shape
st.markdown(views.module_explainer("a2", record))

pkey = f"a2_position:{analysis.backbone}:{analysis.image_hash}:{layer}"
st.session_state.setdefault(pkey, (h // 2, w // 2))
state = st.session_state.get("a2_click")
if state:
    selection = (
        state.get("selection") if isinstance(state, dict) else getattr(state, "selection", None)
    )
    cells = (
        views.selection_to_cells(selection, (h, w), analysis.image.shape[:2]) if selection else []
    )
    if cells:
        st.session_state[pkey] = tuple(int(v) for v in cells[-1])
position = st.session_state[pkey]

max_maps = st.slider("Gather maps shown", 4, min(n, 64), min(16, n), key="a2_max") if n > 4 else n
figs = views.a2_view(analysis, layer, position=position, max_maps=max_maps)
st.subheader(f"Gather: {min(n, max_maps)} of the n = {n} maps (each sums to 1 over {h}×{w})")
st.plotly_chart(figs.gather, key="a2_gather")
st.subheader("Distribute: which descriptor each position takes, and how sure it is")
st.plotly_chart(figs.distribute, key="a2_distribute")
left, right = st.columns([1, 2])
with left:
    st.markdown(f"**Click a position** — current: {position}")
    st.plotly_chart(
        views.click_grid_figure(analysis.image, (h, w), queries=[position]),
        on_select="rerun",
        selection_mode="points",
        key="a2_click",
    )
with right:
    if figs.position is not None:  # always: the page passes a position
        st.plotly_chart(figs.position, key="a2_position")
if figs.descriptors is not None:
    st.subheader("Descriptors G = φ(X) softmax(θ(X))ᵀ")
    st.plotly_chart(figs.descriptors, key="a2_descriptors")

dist = record.tensors["distribute"]
rows = [
    {
        "descriptor": i,
        "gather_max": float(record.tensors["gather"][i].max()),
        "distribute_mean": float(dist[i].mean()),
        "argmax_share": float((dist.argmax(axis=0) == i).mean()),
    }
    for i in range(n)
]
ui.downloads(analysis, "a2", "Descriptor statistics (CSV)", rows, "a2_descriptors.csv")
