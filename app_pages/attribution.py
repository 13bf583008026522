"""captum's Grad-CAM and Integrated Gradients beside the attention maps, and how well they agree."""

import streamlit as st

from viz import ui, views

st.title("Attribution vs attention")
st.markdown(
    "Attention maps show where a module *looks*; attribution shows which pixels *changed the "
    "prediction*. **Grad-CAM** weights the feature maps of a late layer by the gradient of the "
    "class score (ReLU of the weighted sum); **Integrated Gradients** integrates the input gradient "
    "along a straight path from a black image, ∫₀¹ ∂f(x₀ + α(x − x₀))/∂x dα · (x − x₀). "
    "Agreement is the Pearson correlation of the maps on a common grid."
)

analysis = ui.current_analysis()
if analysis is None:
    st.stop()
if not analysis.prediction:
    st.info(f"{analysis.backbone} has no class scores, so there is nothing to attribute.")
    st.stop()
chosen = ui.current_image()
image_hash, image, _ = chosen

classes = analysis.classes
top_index = int(analysis.probabilities.argmax()) if analysis.probabilities is not None else 0
options = sorted(range(len(classes)), key=lambda i: -float(analysis.probabilities[i]))[
    : min(len(classes), 20)
]
c1, c2, c3 = st.columns(3)
target = c1.selectbox(
    "Class to explain",
    options,
    index=options.index(top_index) if top_index in options else 0,
    format_func=lambda i: f"{classes[i]} ({analysis.probabilities[i]:.2f})",
    key="attr_target",
)
steps = c2.select_slider("IG steps", [8, 16, 32, 64], value=16, key="attr_steps")
opacity = c3.slider("Map opacity", 0.0, 1.0, 0.5, 0.05, key="attr_opacity")

try:
    with st.spinner(f"Computing Grad-CAM and Integrated Gradients ({steps} steps)…"):
        maps = ui.get_attribution(
            analysis.backbone, image_hash, image, target=int(target), steps=int(steps)
        )
except ImportError as exc:
    st.warning(f"Attribution is not available here: {exc}")
    st.stop()
except ui.ModelUnavailable as exc:
    st.warning(str(exc))
    st.stop()

fig, corr = views.attribution_view(analysis, maps, opacity=opacity)
st.plotly_chart(fig, key="attr_maps")
st.subheader("Agreement between maps (Pearson r)")
if corr.empty:
    st.info("Only one map is available, so there is nothing to correlate.")
else:
    st.dataframe(views.styled(corr, 3), width="stretch")
    finite = corr.dropna()
    if len(finite):
        best = finite.iloc[finite["pearson r"].abs().argmax()]
        st.caption(
            f"Strongest (anti-)agreement: {best['map A']} vs {best['map B']} "
            f"(r = {views.fmt(best['pearson r'])})."
        )
    if len(finite) < len(corr):
        st.caption("– : a map is constant (e.g. Grad-CAM all zero), so no correlation exists.")
if not analysis.records:
    st.caption(f"{analysis.backbone} has no attention module; only the attributions are shown.")

ui.downloads(analysis, "attribution", "Correlations (CSV)", corr, "attribution_correlation.csv")
