"""GCNet's finding put to the test: are Non-local attention maps the same for every query?"""

import streamlit as st

from viz import ui, views

status = views.family_status()
st.title(status.title)
st.markdown(
    "GCNet (Cao et al., 2019) observed that a Non-local block's attention maps are almost the same "
    "for every query position: inputs differ between positions (~0.4) while the attention rows "
    "barely do. Below, your image goes through Non-local blocks and the Table-1 statistics are "
    "measured on it: d = (1 − cos)/2 averaged over all N² ordered pairs of positions (self-pairs "
    "included), and the Jensen-Shannon divergence for forms whose rows are distributions. Rows "
    "that agree can still be *flat* (nearly uniform), so each reading also weighs how much the "
    "shared map departs from uniform."
)
(st.success if status.reproduced else st.warning)(
    status.text, icon=":material/check_circle:" if status.reproduced else ":material/info:"
)

image_hash, image, caption = ui.require_image()


def _paper_only() -> None:
    """With no Non-local model here, the paper's numbers still stand (they need no model)."""
    st.subheader("GCNet's Table 1 (the paper's numbers only)")
    st.table(views.styled(views.table1_frame({}, None), 3))
    st.caption(ui.GCNET_SOURCE)


current = ui.page_analysis(
    ui.NL_KINDS,
    "Non-local block",
    key="query_independence",
    when_none=_paper_only,
    page_default=views.GCNET_EG,
)
current_name = current.backbone

zoo = set(ui.list_backbones("zoo"))
# the current model's siblings (the other forms of its recipe) and the other recipe's embedded
# Gaussian: the counter-example one click away, measured on the same photo
names = [current_name] + [n for n in views.sibling_models(current_name, zoo) if n != current_name]
gc_name = "zoo/gc" if "zoo/gc" in zoo else None
jobs = names + ([gc_name] if gc_name and gc_name not in names else [])

# the page's own model has run already: only the others are fetched (each cached analysis is
# handed out as a fresh copy, so asking again would copy it twice)
others, missing = ui.analyse_with_progress(
    jobs[1:],
    image_hash,
    image,
    f"Running the image through {len(jobs)} models…",
    "Running {name} ({i}/{n})…",
)
analyses = {current_name: current, **others}
st.caption(f"Ran {len(analyses)} of {len(jobs)} models on {caption}.")
for message in missing.values():
    st.warning(message, icon=":material/warning:")

nl_runs = [an for an in analyses.values() if ui.nl_layers(an)]
gc_run = analyses.get(gc_name) if gc_name else None
if not nl_runs:
    st.info(
        "No Non-local model could run on this image, so only the paper's numbers are shown. "
        "Pick a backbone with a Non-local block or fetch the zoo weights named above."
    )
    target = ui.zoo_model_for(ui.NL_KINDS)
    if target and target != current_name:
        st.button(f"Switch to {target}", on_click=ui.switch_backbone, args=(target,))

    st.table(views.styled(views.table1_frame({}, None), 3))
    st.caption(ui.GCNET_SOURCE)
    st.stop()

# The headline, built once per full run (new image / backbone): the reading and Table 1.
figs, frame, text = views.query_independence_view(nl_runs[0], others=nl_runs[1:], maps=False)
layer_readings = views.readings(nl_runs)
if layer_readings:
    name, form, first = layer_readings[0]
    st.markdown(f"**Reading on your photo ({name}, {form}).** {first.sentence}")
    st.dataframe(
        views.styled(views.readings_frame(layer_readings), 3), width="stretch", hide_index=True
    )
    st.caption(views.HEATMAP_CAVEAT)
st.caption(f"Table 1 in one line: {text}")

st.subheader("Table 1: this image vs the zoo (held-out) vs GCNet")
table = views.table1_table(frame, nl_runs)
# st.table: plain HTML, its numbers are page text; the interactive grid cost each browser ~0.2 s
# of CPU per upload (measured with bench/browser_classroom.py's tabs) for a 16-row table
st.table(views.styled(table, 3))
st.caption(
    f"Paper values: {ui.GCNET_SOURCE}. “zoo (held-out)”: the shipped models' statistics "
    "averaged over held-out scenes (weights/manifest.json)."
)

layers = views.nl_runs_layers(nl_runs[0], nl_runs[1:])


@st.fragment
def _query_maps() -> None:
    """The layer picker reruns only this part; the grid size and the opacity move in the
    browser (the query grid component), with no rerun at all."""
    st.subheader("Attention maps for a grid of queries, and their distances")
    pick = st.selectbox(
        "Non-local layer",
        range(len(layers)),
        format_func=lambda i: (
            f"{layers[i][0].backbone} · {layers[i][1]} ({layers[i][0].records[layers[i][1]].kind})"
        ),
        key="qi_layer",
    )
    an, path = layers[pick if pick is not None and pick < len(layers) else 0]
    payload = ui.cached_payload(
        views.explorer_id(an, "query_grid", path), lambda: views.qi_query_grid(an, path)
    )
    ui.query_grid("qi_query_grid", payload)
    st.caption(
        "Each panel: one query's attention row over the keys (white dot: the query), all on one "
        "colour scale. If GCNet's finding holds, the panels look alike and the matrix is dark. "
        "The grid size and opacity are drawn in your browser; hover a panel or a cell to read it."
    )
    if st.toggle("Also as plotly figures (zoom, PNG export)", key="qi_figures"):
        c2, c3 = st.columns(2)
        grid = c2.slider("Query grid (k × k queries)", 2, 6, 4, key="qi_grid")
        opacity = c3.slider("Map opacity", 0.0, 1.0, 0.6, 0.05, key="qi_opacity")
        shown = views.qi_query_maps(an, path, grid=grid, opacity=opacity)
        left, right = st.columns([3, 2])
        with left:
            st.plotly_chart(shown.maps, key="qi_maps")
        with right:
            st.plotly_chart(shown.distance, key="qi_distance")


def _table1_chart() -> None:
    st.subheader("Table 1 as bars: this image, the zoo and GCNet")
    st.plotly_chart(figs.table1, key="qi_table1")


@st.fragment
def _dnl_split() -> None:
    """Its own fragment: its layer picker reruns only this part."""
    st.subheader("Why the maps agree or differ: the DNL split")
    splittable = [i for i, (a, p) in enumerate(layers) if "unary" in a.records[p].tensors]
    if not splittable:
        st.info("No Non-local layer here records the DNL split (unary / pairwise terms).")
        return
    pick = st.selectbox(
        "Layer to split",
        splittable,
        format_func=lambda i: (
            f"{layers[i][0].backbone} · {layers[i][1]} ({layers[i][0].records[layers[i][1]].kind})"
        ),
        key="qi_dnl_layer",
    )
    an, path = layers[pick if pick in splittable else splittable[0]]
    queries = ui.grid_queries(ui.nl_grids(an.records[path])[0], 2)[:3]
    dnl_fig, _share, dnl_text = views.dnl_view(an, path, queries)
    st.write(dnl_text)
    if dnl_fig is not None:
        st.plotly_chart(dnl_fig, key="qi_dnl")
        st.caption(
            "q_iᵀk_j = (q_i − μ_q)ᵀk_j + μ_qᵀk_j (Yin et al., ECCV 2020): the second, unary term "
            "is the same for every query i. Left: the map it alone draws. Right: what three "
            "queries (crosses) add to it."
        )


def _gc_vs_nl() -> None:
    st.subheader("GC's single context map beside the mean Non-local map")
    if gc_run is None:
        st.info("The zoo's GC model is not available here, so there is no GC map to compare.")
        return
    st.caption(
        "If the Non-local maps are query-independent, one map — what GC computes — suffices."
    )
    gc_fig = views.gc_vs_nl_view(gc_run, nl_runs[0])
    if gc_fig is not None:
        st.plotly_chart(gc_fig, key="qi_gc")
    r = views.gc_nl_correlation(gc_run, nl_runs[0])
    if r is not None:
        st.caption(
            f"Pearson correlation of the two maps on this image: r = {views.fmt(r, 2)} "
            f"(GC: {gc_run.backbone}; NL: {nl_runs[0].backbone}, its first layer)."
        )


def _training() -> None:
    st.subheader("How query independence emerges in training (the zoo, held-out scenes)")
    train_figs, regimes, train_reading, train_done = views.training_view()
    st.info(f"**Reading of the training curves.** {train_reading}")
    st.plotly_chart(train_figs.emergence, key="qi_emergence")
    st.caption(
        "Distances (1 − cos)/2 between positions after each epoch (0 = the block at init). "
        "Solid: fresh scenes every epoch, seed 0; dotted: seed 1; dashed: a small fixed pool of "
        f"scenes (memorisation). Dash-dot lines: GCNet's COCO values. {train_done}"
    )
    st.plotly_chart(train_figs.guard, key="qi_guard")
    st.caption(
        "Guard against the trivial answer: uniform rows are identical too. Entropy 1 means the "
        "mean attention row is uniform. Unary share: how much of the logits' variance over keys "
        "the shared term μ_qᵀk_j explains (DNL, Yin et al. 2020)."
    )
    st.markdown("**Two data regimes at the end of training**")
    st.dataframe(views.styled(regimes, 3), width="stretch", hide_index=True)


def _ablation() -> None:
    st.subheader("What makes Non-local maps query-independent: the ablation")
    where = st.radio(
        "Measured on",
        ["table1", "photos_table1"],
        format_func=lambda w: "held-out scenes" if w == "table1" else "the real photos",
        horizontal=True,
        key="qi_ablation_where",
    )
    fig, cells, reading = views.ablation_view(where=where)
    st.info(f"**Reading of the ablation.** {reading}")
    st.plotly_chart(fig, key="qi_ablation")
    st.caption(
        f"{views.PATTERN}. Each column is one recipe (input · init · scale), each marker one init "
        "seed. Trained by python -m viz train --gcnet on the same cached scenes and data stream."
    )
    with st.expander("Every finished cell"):
        st.dataframe(views.styled(cells, 3), width="stretch", hide_index=True)


def _epochs() -> None:
    st.subheader("Watch it rise and fall: epoch by epoch on your photo")
    ui.epoch_slider(image_hash, image, key="qi")
    st.plotly_chart(views.recipe_curves_view(), key="qi_recipe_curves")


def _per_layer() -> None:
    st.subheader("Measured per layer")
    st.dataframe(views.styled(frame, 4), width="stretch")


# Lazy sections: only the open tab runs and is sent, so an upload draws the headline and one
# section instead of every figure (six tabs rendering ten charts each saturated a 2-core server).
SECTIONS = {
    "Query maps": _query_maps,
    "Epoch by epoch": _epochs,
    "What makes it": _ablation,
    "Table 1 chart": _table1_chart,
    "Why: the DNL split": _dnl_split,
    "GC vs Non-local": _gc_vs_nl,
    "In training": _training,
    "Per layer": _per_layer,
}
tabs = st.tabs(list(SECTIONS), key="qi_section", on_change="rerun")
for tab, draw in zip(tabs, SECTIONS.values()):
    if tab.open is not False:  # None: a runtime without tab state (draw everything)
        with tab:
            draw()

d1, d2 = st.columns(2)
d1.download_button(
    "Statistics (CSV)", ui.stats_csv(frame), "query_independence.csv", mime="text/csv"
)
first = nl_runs[0]
d2.download_button(
    f"Captured tensors of {first.backbone} (.npz)",
    lambda: ui.export_npz(first),  # built when clicked, not on every rerun
    "query_independence_tensors.npz",
    mime="application/octet-stream",
)
