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
st.session_state.setdefault(pkey, [(h // 2, w // 2)])


@st.fragment
def _position() -> None:
    """The explorer and the pinned position's distribution: a pin reruns this alone."""
    left, right = st.columns([3, 2])
    with left:
        st.markdown(
            "**Hover a position**: its weights over the n descriptors (bars) and the gather maps "
            "it draws on most; the map is Σᵢ dᵢ · gatherᵢ. **Click** pins it for the chart."
        )
        payload = ui.cached_payload(
            views.explorer_id(analysis, "a2", layer), lambda: views.a2_explorer(analysis, layer)
        )
        pins = ui.explorer("a2_explorer", payload, pkey, token=pkey)
    position = pins[-1] if pins else (h // 2, w // 2)
    with right:
        st.markdown(f"**Pinned position**: {position}")
        st.plotly_chart(views.a2_position_figure(analysis, layer, position), key="a2_position")


_position()

max_maps = st.slider("Gather maps shown", 4, min(n, 64), min(16, n), key="a2_max") if n > 4 else n
figs = views.a2_view(analysis, layer, position=None, max_maps=max_maps)
st.subheader(f"Gather: {min(n, max_maps)} of the n = {n} maps (each sums to 1 over {h}×{w})")
st.plotly_chart(figs.gather, key="a2_gather")
st.subheader("Distribute: which descriptor each position takes, and how sure it is")
st.plotly_chart(figs.distribute, key="a2_distribute")
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
