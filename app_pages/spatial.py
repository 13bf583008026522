"""Spatial attention: GC's context map, CBAM / BAM spatial maps, over the image the model saw."""

import streamlit as st

from viz import ui, views

KINDS = ("gc", "cbam", "bam", "gsop")

st.title("Spatial maps")
st.caption("Where the module looks: maps upsampled onto the exact pixels the model saw.")

analysis = ui.page_analysis(
    ("gc", "cbam", "bam"), "spatial attention module (GC, CBAM or BAM)", key="spatial"
)

records = ui.records_of_kind(analysis, KINDS)
with st.expander("The module and this run's tensors", expanded=False):
    for path, rec in records.items():
        st.markdown(f"`{path}` — " + views.module_explainer(rec.kind, rec))

opacity = st.slider("Map opacity", 0.0, 1.0, 0.5, 0.05, key="spatial_opacity")
explorers = views.spatial_explorers(analysis, opacity=opacity)
if not explorers:
    st.info("The spatial modules of this backbone emitted no spatial map for this image.")
else:
    st.caption("Hover a map (or focus it and use the arrow keys) to read a cell's value and rank.")
cols = st.columns(2)
for i, item in enumerate(explorers):
    with cols[i % 2]:
        st.markdown(f"**{item.payload['label']}**")
        ui.explorer(f"spatial_{item.path}:{item.label}", item.payload)

rows = []
for path, rec in records.items():
    for label, heat in views.spatial_maps(rec).items():
        rows.append(
            {
                "layer": path,
                "kind": rec.kind,
                "map": label,
                "h": heat.shape[0],
                "w": heat.shape[1],
                "min": float(heat.min()),
                "max": float(heat.max()),
                "mean": float(heat.mean()),
            }
        )
st.dataframe(rows, width="stretch")
ui.downloads(analysis, "spatial", "Map statistics (CSV)", rows, "spatial_maps.csv")
