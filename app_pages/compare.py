"""One image through every zoo module, side by side (same trunk, same head, one module differs)."""

import streamlit as st

from viz import ui, views

st.title("All modules, one image")
st.caption(
    "Every zoo model is the same frozen trunk and head with one attention module in between, so "
    "differences here come from the module alone."
)

image_hash, image, caption = ui.require_image()
names = ui.list_backbones("zoo")
if not names:
    st.info("No zoo models are registered.")
    st.stop()

analyses, missing = ui.analyse_with_progress(
    names, image_hash, image, f"Running {len(names)} zoo models on {caption}…"
)
if missing:
    st.warning(
        f"{len(missing)} of {len(names)} zoo models are unavailable: "
        + "; ".join(sorted(missing))
        + ". "
        + next(iter(missing.values())),
        icon=":material/warning:",
    )
if not analyses:
    st.stop()

figs = views.compare_view(analyses)
if figs.spatial is not None:
    st.subheader("Where each module looks")
    st.plotly_chart(figs.spatial, key="cmp_spatial")
if figs.channel is not None:
    st.subheader("Channel gates of the channel modules")
    st.plotly_chart(figs.channel, key="cmp_channel")

rows = []
for name, an in analyses.items():
    meta = ui.backbone_info(name).meta
    top = an.prediction[0] if an.prediction else ("–", float("nan"))
    rows.append(
        {
            "model": name,
            "modules": ", ".join(an.kinds) or "none",
            "top label": top[0],
            "probability": round(float(top[1]), 3),
            f"held-out {meta.metric or 'score'}": meta.accuracy,
            "forward ms": round(an.forward_ms, 1),
        }
    )
st.subheader("Predictions")
st.dataframe(rows, width="stretch")
with st.expander("Formulas and this run's tensor shapes"):
    for name, an in analyses.items():
        for path, rec in an.records.items():
            st.markdown(f"**{name}** `{path}` — " + views.module_explainer(rec.kind, rec))
st.download_button("Predictions (CSV)", ui.stats_csv(rows), "compare.csv", mime="text/csv")
