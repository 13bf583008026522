"""Home: the prediction for the chosen backbone and image, and what each page shows."""

import streamlit as st

from viz import ui, views

st.title("Visual Attention Explorer")
st.write(
    "Look inside CNNs that carry visual attention modules — SE, ECA, GSoP, CBAM, BAM, A², GC and "
    "Non-local in its four forms. Pick an image and a preferred backbone in the sidebar; each "
    "module page runs the preferred backbone when it carries that page's module and otherwise the "
    "best one that does (its own picker at the top). Forward passes are cached, so clicking on "
    "maps never re-runs the model."
)

analysis = ui.current_analysis()
if analysis is not None:
    left, right = st.columns([1, 2])
    with left:
        chosen = ui.current_image()
        shown, seen = views.model_view(analysis, chosen[1].size if chosen else None)
        st.image(shown, caption=seen, width="stretch")
    with right:
        if analysis.prediction:
            multilabel = analysis.task == "multilabel"
            label = "Every class's score" if multilabel else "ImageNet top-5"
            st.subheader(label)
            top = len(analysis.classes) if multilabel else 5
            st.plotly_chart(views.prediction_figure(analysis, top=top))
            top_label, top_p = analysis.prediction[0]
            st.write(f"Most likely: **{top_label}** ({top_p:.1%}).")
        else:
            st.info("This backbone gives features, not class scores.")
        kinds = ", ".join(analysis.kinds) or "none"
        st.caption(
            f"{analysis.backbone} · attention modules captured: {kinds} · "
            f"{len(analysis.records)} records · input {tuple(analysis.input_shape)} · "
            f"forward {analysis.forward_ms:.1f} ms on {analysis.device}"
        )
        if analysis.task == "multilabel":
            st.caption(
                "Zoo models are multi-label: each class has its own sigmoid probability, so "
                "several can be high at once, and a photo of none of these classes should score "
                "low on all. They were trained on real photo cut-outs composited on real photos."
            )

    curves = views.zoo_training_curves(analysis.backbone)
    if curves is not None:
        with st.expander("How this zoo model was trained (curves from weights/manifest.json)"):
            st.plotly_chart(curves, key="home_training_curves")
            st.caption(
                "Train loss on fresh scenes of the training stamps; held-out loss and mAP on 1000 "
                "scenes of held-out stamps and backgrounds. A held-out loss that turns up while the "
                "train loss falls is the model memorising the training stamps."
            )

st.subheader("What each page shows")
st.markdown(
    """
| Page | What you see |
|---|---|
| **Channel gates** | SE / ECA / GSoP / CBAM / BAM gates per block: sortable bars, top-k, a blocks × channels heatmap, and the same gates across several images |
| **Spatial maps** | GC's context map, CBAM / BAM spatial maps over the image, with an opacity slider |
| **Non-local queries** | click positions on the image: each query's attention map, side by side and overlaid |
| **Double attention (A²)** | the n gather maps, the distribute argmax / entropy maps, one position's distribution, the descriptors G |
| **Query independence** | GCNet's finding put to the test on your photo (a three-outcome reading, the ablation, an epoch slider): maps for a grid of queries, their distances, Table-1 statistics next to the paper's, for all four Non-local forms |
| **Attribution** | captum Grad-CAM and Integrated Gradients beside the attention maps, and how well they agree |
| **All modules** | one image through every zoo module side by side |
"""
)
