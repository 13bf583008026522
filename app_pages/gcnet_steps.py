"""GCNet's argument in five steps, live on the sidebar's photo: a page to present from.

Large type, one step at a time, Previous / Next and a jump row; every reading is computed from
this photo's numbers by ``viz.views`` (the page only draws).
"""

import streamlit as st

from viz import ui, views

AT_KEY = "steps_at"  # the step on show; a plain key, so it survives visits to other pages
PICK_KEY = "steps_pick"  # the jump row's widget state, synced to AT_KEY
LAST = len(views.STEP_TITLES) - 1

ui.page_style("gcnet_steps.css")


def _go(step: int) -> None:
    """Button callback: show ``step`` (clamped to the walk) on the next run."""
    st.session_state[AT_KEY] = max(0, min(LAST, step))


def _picked() -> None:
    st.session_state[AT_KEY] = st.session_state[PICK_KEY]


def _step_buttons(suffix: str, middle, primary: bool = False) -> None:
    """Previous | ``middle(column)`` | Next, for the step shown (``at``); keys end in ``suffix``."""
    back, centre, forward = st.columns([1, 3, 1], vertical_alignment="bottom")
    for column, label, step, end in (
        (back, "← Previous", at - 1, 0),
        (forward, "Next →", at + 1, LAST),
    ):
        column.button(
            label,
            key=f"steps_{'prev' if step < at else 'next'}{suffix}",
            on_click=_go,
            args=(step,),
            disabled=at == end,
            type="primary" if primary and step > at else "secondary",
            width="stretch",
        )
    middle(centre)


st.title("GCNet in five steps")
image_hash, image, caption = ui.require_image()
chosen = views.steps_models(st.session_state.get(ui.BACKBONE_KEY), ui.list_backbones())
jobs = [chosen.nl] + ([chosen.gc] if chosen.gc and chosen.gc != chosen.nl else [])
analyses, missing = ui.analyse_with_progress(
    jobs, image_hash, image, "Running the photo…", "Running {name} ({i}/{n})…"
)
nl = analyses.get(chosen.nl)
if nl is not None and not ui.nl_layers(nl):  # the registry's kinds promised a block it lacks
    nl = None
if nl is None and chosen.nl != ui.DEFAULT_BACKBONE:
    fallback, more = ui.analyse_many([ui.DEFAULT_BACKBONE], image_hash, image)
    missing.update(more)
    nl = fallback.get(ui.DEFAULT_BACKBONE)
for message in missing.values():
    st.warning(message, icon=":material/warning:")
if nl is None or not ui.nl_layers(nl):
    st.info(
        "No model with a Non-local block could run here, so the walk cannot start. "
        f"The default, {ui.DEFAULT_BACKBONE}, needs its weights in weights/ (see the warning)."
    )
    st.stop()
if chosen.note:
    st.caption(chosen.note)

layer = ui.nl_layer_picker(nl, key="steps_layer")
gc = analyses.get(chosen.gc) if chosen.gc else None
at = int(st.session_state.get(AT_KEY, 0))
at = max(0, min(LAST, at))
st.session_state[PICK_KEY] = at

with st.container(key="gcnet_steps"):
    st.caption(f"Live on {caption} · Non-local: {nl.backbone} · {layer}")
    st.radio(
        "Jump to a step",
        range(LAST + 1),
        format_func=lambda i: f"{i + 1}. {views.STEP_TITLES[i]}",
        horizontal=True,
        key=PICK_KEY,
        on_change=_picked,
        label_visibility="collapsed",
    )
    _step_buttons(
        "_top",
        lambda middle: middle.progress((at + 1) / (LAST + 1), text=f"Step {at + 1} of {LAST + 1}"),
    )
    query = None
    if at == 0:  # the presenter may move the query; the reading follows it
        (rows, cols), _ = ui.nl_grids(nl.records[layer])
        pick_row, pick_col, _ = st.columns([1, 1, 3])
        grid_key = f"{nl.backbone}:{layer}"  # a grid of another size gets its own inputs
        query = (
            pick_row.number_input("Query row", 0, rows - 1, rows // 2, key=f"steps_row:{grid_key}"),
            pick_col.number_input(
                "Query column", 0, cols - 1, cols // 2, key=f"steps_col:{grid_key}"
            ),
        )
    step = views.gcnet_step(at, nl, layer, gc, query=query)
    st.header(f"{at + 1}. {step.title}")
    with st.container(key="steps_reading", border=True):
        st.markdown(step.reading)
    if step.numbers:
        for column, (label, text) in zip(st.columns(len(step.numbers)), step.metrics()):
            column.metric(label, text)
    columns = st.columns([3, 2]) if len(step.figures) == 2 else [st.container()]
    for j, (column, fig) in enumerate(zip(columns, step.figures)):
        with column:
            st.plotly_chart(fig, key=f"steps_fig_{at}_{j}")
    if step.note:
        st.caption(step.note)
    if at == 2:  # Table 1: how the two recipes got there, epoch by epoch, on this photo
        with st.expander("Epoch by epoch: the GCNet recipe beside the shipped one"):
            ui.epoch_slider(image_hash, image, key="steps")
    _step_buttons("", lambda middle: None, primary=True)
