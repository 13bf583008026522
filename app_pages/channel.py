"""Channel gates of SE / ECA / GSoP / CBAM / BAM: per block, as a heatmap, and across images."""

import streamlit as st

from viz import ui, views

st.title("Channel gates")
st.caption("How strongly each block lets every channel through, for this image.")

# every registered kind whose Mechanism names this page (README: "How to add a mechanism")
KINDS = ui.kinds_on("channel")
analysis = ui.page_analysis(
    KINDS, "channel attention module (SE, ECA, GSoP, CBAM or BAM)", key="channel"
)

records = ui.records_of_kind(analysis, KINDS)
with st.expander("The module and this run's tensors", expanded=False):
    for path, rec in records.items():
        st.markdown(f"`{path}` — " + views.module_explainer(rec.kind, rec))

strips = views.channel_explorer(analysis)
if strips is not None:
    st.markdown(
        "**Hover a channel** (one strip per block, colour = gate from 0 to 1) to read its gate, "
        "its rank in the block and the block; arrow keys move."
    )
    ui.explorer("channel_explorer", strips)

c1, c2 = st.columns(2)
sort = c1.toggle("Sort channels by gate", value=True, key="channel_sort")
top_k = c2.slider("Show top-k channels (0 = all)", 0, 256, 32, step=8, key="channel_topk")
figs = views.channel_view(analysis, sort=sort, top_k=top_k or None)
for block in figs.bars:
    st.plotly_chart(block.figure, key=f"chart_bars:{block.path}")
if figs.heatmap is not None:
    st.subheader("Blocks × channels")
    st.plotly_chart(figs.heatmap, key="chart_heatmap")

st.subheader("Across images")
if not ui.list_samples():
    st.info("The sample gallery is not available, so there is nothing to compare with.")
else:
    chosen = st.multiselect(
        "Compare the current image with samples", ui.list_samples(), key="channel_compare"
    )
    if chosen:
        current = {"current image": analysis}
        failed = False
        with st.spinner(f"Running {analysis.backbone} on {len(chosen)} more image(s)…"):
            for name in chosen:
                try:
                    current[name] = ui.get_analysis(
                        analysis.backbone, f"sample:{name}", ui.load_sample(name)
                    )
                except ui.ModelUnavailable as exc:
                    st.warning(str(exc))
                    failed = True
                    break
        if not failed:
            for block in views.channel_compare_view(current, top_k=top_k or None):
                st.plotly_chart(block.figure, key=f"compare_{block.path}")

rows = [
    {"layer": p, "kind": r.kind, "channel": i, "gate": float(g)}
    for p, r in records.items()
    if "channel" in r.tensors
    for i, g in enumerate(views.channel_gates(r))
]
ui.downloads(analysis, "channel", "Gates (CSV)", rows, "channel_gates.csv")
