"""The epoch slider: the GCNet recipe and the shipped recipe after each training epoch, side by side
on the user's photo (the Query-independence page and "GCNet in five steps" share it).

Each stop of the slider is a registered backbone of the hidden ``"epochs"`` group
(:mod:`viz.weights.sources.gcnet`), so its analysis is cached per (model, image) like any other
and no session sees another's; a move reruns only this fragment.
"""

from __future__ import annotations

import streamlit as st

from viz import views
from viz.analysis.forward import nl_layers
from viz.errors import ModelUnavailable
from viz.ui.explorer import cached_payload
from viz.ui.query_grid import query_grid
from viz.ui.state import get_analysis
from viz.weights.registry import list_backbones


@st.fragment
def epoch_slider(image_hash: str, image, key: str) -> None:
    """Slider + the two recipes' query maps, Table 1, reading and DNL share at that epoch.

    Args:
        image_hash, image: the sidebar's photo.
        key: the page's prefix for widget keys (two pages, two sliders).
    """
    epochs = views.epoch_choices(list_backbones("epochs"))
    if not epochs:
        st.info(
            "The per-epoch weights of the two recipes are not here (python -m viz train --gcnet "
            "makes them)."
        )
        return
    epoch = st.select_slider("Epoch", options=epochs, value=epochs[-1], key=f"{key}_epoch")
    cols = st.columns(len(views.EPOCH_MODELS))
    rows = {}
    for i, (col, model) in enumerate(zip(cols, views.EPOCH_MODELS)):
        name = views.epoch_name(model, epoch)
        try:
            an = get_analysis(name, image_hash, image)
        except ModelUnavailable as exc:
            col.warning(str(exc), icon=":material/warning:")
            continue
        path = nl_layers(an)[0]
        with col:
            st.markdown(f"**{model}** after epoch {epoch}")
            payload = cached_payload(
                views.explorer_id(an, "query_grid", path),
                lambda an=an, path=path: views.qi_query_grid(an, path, k=3),
            )
            query_grid(f"{key}_epoch_grid_{i}", payload)
        rows[model] = views.epoch_numbers(an)
    if rows:
        st.table(views.styled(views.epoch_frame(rows), 3))
        st.caption(
            "Table 1, the three-outcome reading and the DNL unary share of each model after this "
            "epoch, on your photo (epoch 0: the block at init). " + views.HEATMAP_CAVEAT
        )
