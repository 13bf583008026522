"""Page latency without the browser: image bytes -> every figure of the Non-local and
Query-independence pages, vs one bare forward pass; and a query click -> its new figures.

Goals: page <= 1.5 x bare forward + 150 ms; click <= 50 ms with no forward pass (counted by a forward
hook on the model, installed for this benchmark only).

What is timed is what the pages call (``viz.images.load_image``, ``viz.session.analyse``,
``viz.views.nonlocal_view`` / ``query_independence_view``, ``viz.session.nl_statistics``), plus
``fig.to_json()`` for every figure (the serialisation Streamlit does before sending). Browser
rendering and Streamlit's own script overhead are not included (see cold_start.py for the server).

Run: ``python bench/page_latency.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import goal, header, sample_image_bytes, setup_threads, zoo_backbone

PAGE_FACTOR, PAGE_EXTRA_S, CLICK_S = 1.5, 0.150, 0.050


class _Payload:
    """A JSON payload timed like a figure (``to_json``)."""

    def __init__(self, data):
        self.data = data

    def to_json(self):
        import json

        return json.dumps(self.data)


def _page(bb, data: bytes, serialise: bool, stages: dict | None = None) -> tuple[dict, object]:
    from viz import figures, views
    from viz.images import load_image
    from viz.session import analyse, nl_layers, nl_statistics

    marks = [("start", time.perf_counter())]
    image = load_image(data)
    marks.append(("load_image", time.perf_counter()))
    analysis = analyse(bb, image, "bench")
    marks.append(("analyse (forward + capture)", time.perf_counter()))
    layer = nl_layers(analysis)[0]
    rec = analysis.records[layer]
    (h, w) = rec.arrays["input"].shape[1:]
    queries = [(h // 4, w // 4), (h // 2, w // 2), (3 * h // 4, 3 * w // 4)]  # the page's default
    # what the app builds: no plotly click grid (the in-browser grid is a data payload)
    figs = dict(views.nonlocal_view(analysis, layer, queries, click=False))
    figs["click payload"] = _Payload(
        figures.click_grid_payload(analysis.image, (h, w), queries, views.nl_mean_map(rec))
    )
    marks.append(("nonlocal_view", time.perf_counter()))
    nl_statistics(analysis.records[layer])
    marks.append(("nl_statistics", time.perf_counter()))
    # the QI page: tables and bars once, then the maps of the one layer on show (a fragment)
    qi_figs, _frame, _text = views.query_independence_view(analysis, grid=4, maps=False)
    figs.update({f"qi {k}": f for k, f in qi_figs.items()})
    figs["qi maps"], figs["qi distance"] = views.qi_query_maps(analysis, layer, grid=4)
    marks.append(("query_independence_view", time.perf_counter()))
    if serialise:
        for f in figs.values():
            f.to_json()
        marks.append(("to_json", time.perf_counter()))
    if stages is not None:
        for (_, t0), (name, t1) in zip(marks, marks[1:]):
            stages.setdefault(name, []).append(t1 - t0)
    return figs, analysis


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args()
    setup_threads()
    from viz import views
    from viz.images import load_image
    from viz.session import nl_layers

    header("page latency (Non-local + Query-independence pages, no browser)")
    data, what = sample_image_bytes()
    bb, trained = zoo_backbone("nl_embedded_gaussian")
    state = "trained" if trained else "checkpoint missing: timing only"
    print(f"model {bb.name} ({state}); {what}")
    x = bb.preprocess(load_image(data))

    def bare():
        with torch.inference_mode():
            bb.model(x)

    t_fwd, t_page, t_page_json, stages = [], [], [], {}
    for _ in range(2):  # warm-up
        bare()
        _page(bb, data, True)
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        bare()
        t1 = time.perf_counter()
        _page(bb, data, False)
        t2 = time.perf_counter()
        _page(bb, data, True, stages)
        t3 = time.perf_counter()
        t_fwd.append(t1 - t0)
        t_page.append(t2 - t1)
        t_page_json.append(t3 - t2)
    figs, analysis = _page(bb, data, False)

    for label, f in (("median", statistics.median), ("min", min)):
        fwd, page, page_json = f(t_fwd), f(t_page), f(t_page_json)
        limit = PAGE_FACTOR * fwd + PAGE_EXTRA_S
        print(
            f"{label}: bare forward {fwd * 1e3:.1f} ms | page figures {page * 1e3:.1f} ms "
            f"({page / fwd:.2f}x forward) | with to_json {page_json * 1e3:.1f} ms "
            f"({page_json / fwd:.2f}x) | goal <= {limit * 1e3:.0f} ms: {goal(page_json, limit)}"
        )
    print("stages (min ms): " + ", ".join(f"{k} {min(v) * 1e3:.1f}" for k, v in stages.items()))
    print(f"{len(figs)} figures: {', '.join(figs)}")

    # a query click: new figures from the captured record, no forward pass
    forwards = 0

    def count(_m, _i, _o):
        nonlocal forwards
        forwards += 1

    handle = bb.model.register_forward_hook(count)
    try:
        layer = nl_layers(analysis)[0]
        h, w = analysis.records[layer].arrays["input"].shape[1:]
        base = [(h // 4, w // 4), (h // 2, w // 2)]
        clicks = []
        from viz import figures

        rec = analysis.records[layer]
        mean = views.nl_mean_map(rec)
        for i in range(max(args.repeat, 10)):
            q = base + [(i % h, (3 * i) % w)]
            t0 = time.perf_counter()
            # what a click reruns (the Non-local fragment): the grid payload and the figures
            _Payload(figures.click_grid_payload(analysis.image, (h, w), q, mean)).to_json()
            for fig in views.nonlocal_view(analysis, layer, q, click=False).values():
                fig.to_json()
            clicks.append(time.perf_counter() - t0)
    finally:
        handle.remove()
    click = statistics.median(clicks)
    print(
        f"click -> nonlocal_view figures (+to_json): median {click * 1e3:.1f} ms, "
        f"min {min(clicks) * 1e3:.1f} ms; forward passes during clicks: {forwards} | "
        f"goal <= {CLICK_S * 1e3:.0f} ms and 0 forwards: "
        f"{goal(click, CLICK_S) if forwards == 0 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
