"""Page latency without the browser: image bytes -> every figure of the Non-local and
Query-independence pages, vs one bare forward pass; and a pin -> the explorer payload + statistics.

Goals: page <= 1.5 x bare forward + 150 ms; click <= 50 ms with no forward pass (counted by a forward
hook on the model, installed for this benchmark only).

Also: one new image analysed by all 12 zoo backbones (what the Compare page runs; Query
independence runs 5 of them), with the shared trunk's feature cache (one trunk pass, 11 hits) vs
without it (a trunk pass per model, as before the cache), interleaved; ``--zoo-only`` runs just that.

What is timed is what the pages call (``viz.data.uploads.load_image``, ``viz.analysis.forward.analyse``,
``viz.views.nonlocal_view`` / ``query_independence_view``, ``viz.analysis.forward.nl_statistics``), plus
``fig.to_json()`` for every figure (the serialisation Streamlit does before sending). Browser
rendering and Streamlit's own script overhead are not included (see cold_start.py for the server).

Run: ``python bench/page_latency.py [--repeat N] [--zoo-only] [--threads N]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import (
    goal,
    header,
    paired_samples,
    ratios,
    sample_image_bytes,
    setup_threads,
    zoo_backbone,
)

PAGE_FACTOR, PAGE_EXTRA_S, CLICK_S = 1.5, 0.150, 0.050


class _Payload:
    """A JSON payload timed like a figure (``to_json``)."""

    def __init__(self, data):
        self.data = data

    def to_json(self):
        import json

        return json.dumps(self.data)


def _page(bb, data: bytes, serialise: bool, stages: dict | None = None) -> tuple[dict, object]:
    from viz import views
    from viz.analysis.forward import analyse, nl_layers, nl_statistics
    from viz.data.uploads import load_image

    marks = [("start", time.perf_counter())]
    image = load_image(data)
    marks.append(("load_image", time.perf_counter()))
    analysis = analyse(bb, image, "bench")
    marks.append(("analyse (forward + capture)", time.perf_counter()))
    layer = nl_layers(analysis)[0]
    rec = analysis.records[layer]
    (h, w) = rec.tensors["input"].shape[1:]
    queries = [(h // 4, w // 4), (h // 2, w // 2), (3 * h // 4, 3 * w // 4)]  # the page's default
    # what the app builds: the explorer's payload, the pins' statistics and the mean map
    nl = views.nonlocal_view(analysis, layer, [])
    figs = {"mean": nl.mean}
    figs["explorer payload"] = _Payload(views.nonlocal_explorer(analysis, layer))
    views.nonlocal_pins(analysis, layer, queries)
    marks.append(("nonlocal_view", time.perf_counter()))
    nl_statistics(analysis.records[layer])
    marks.append(("nl_statistics", time.perf_counter()))
    # the QI page: tables and bars once, then the maps of the one layer on show (a fragment)
    qi, _frame, _text = views.query_independence_view(analysis, grid=4, maps=False)
    shown = views.qi_query_maps(analysis, layer, grid=4)
    figs.update({"qi table1": qi.table1, "qi maps": shown.maps, "qi distance": shown.distance})
    marks.append(("query_independence_view", time.perf_counter()))
    if serialise:
        for f in figs.values():
            f.to_json()
        marks.append(("to_json", time.perf_counter()))
    if stages is not None:
        for (_, t0), (name, t1) in zip(marks, marks[1:]):
            stages.setdefault(name, []).append(t1 - t0)
    return figs, analysis


def _variant(image, i: int):
    """A distinct image per simulated session (a pixel shift changes every trunk input)."""
    from PIL import ImageChops

    return ImageChops.offset(image, 3 * i, 2 * i)


def zoo_sweep(data: bytes, repeat: int, sessions: int = 6) -> None:
    """All zoo backbones on one new image: ``analyse`` each, shared-trunk cache on vs off; then
    ``sessions`` threads at once, each a new image through the Query-independence page's models."""
    import threading

    from viz.analysis.forward import analyse
    from viz.attention import NL_KINDS
    from viz.data.uploads import load_image
    from viz.errors import WeightsUnavailable
    from viz.models.zoo import ZOO_KINDS, build_trunk
    from viz.weights.registry import load_backbone

    header("all zoo backbones on one image: shared trunk cache vs a trunk pass per model")
    backbones, missing = [], []
    for kind in ZOO_KINDS:
        try:
            backbones.append(load_backbone(f"zoo/{kind}", "cpu"))
        except WeightsUnavailable:
            missing.append(kind)
    if not backbones:
        print("no zoo checkpoint available: skipped")
        return
    trunk = backbones[0].model.trunk
    shared = all(bb.model.trunk is trunk for bb in backbones)
    params = sum(p.numel() * p.element_size() for p in trunk.parameters())
    params += sum(b.numel() * b.element_size() for b in trunk.buffers())
    print(
        f"{len(backbones)} zoo backbones{f' (missing: {missing})' if missing else ''}; one trunk "
        f"object shared by all: {shared}; trunk weights {params / 2**20:.1f} MiB "
        f"(x{len(backbones)} when each model had its own)"
    )
    image = load_image(data)
    cache = trunk.cache
    size = cache.max_entries

    def cached():
        cache.clear()  # a new upload: the first model runs the trunk, the others reuse it
        for bb in backbones:
            analyse(bb, image, "bench")

    def uncached():
        cache.max_entries = 0  # SharedTrunk.forward then always runs the trunk
        try:
            for bb in backbones:
                analyse(bb, image, "bench")
        finally:
            cache.max_entries = size

    hits0, misses0 = cache.hits, cache.misses
    cached()
    hits, misses = cache.hits - hits0, cache.misses - misses0
    t_off, t_on = paired_samples(uncached, cached, repeat=repeat, warmup=1)
    med, low = ratios(t_on, t_off)
    print(
        f"one cached sweep: {misses} trunk pass(es), {hits} cache hits | "
        f"a trunk pass per model: median {statistics.median(t_off) * 1e3:.0f} ms, "
        f"min {min(t_off) * 1e3:.0f} ms | shared trunk + cache: median "
        f"{statistics.median(t_on) * 1e3:.0f} ms, min {min(t_on) * 1e3:.0f} ms | "
        f"speed-up {med:.2f}x (median), {low:.2f}x (min/min)"
    )
    # the classroom's server side: N sessions (threads) each analysing a new image with the
    # Query-independence page's 5 models at once, no Streamlit and no browser
    qi = [bb for bb in backbones if bb.name in {f"zoo/{k}" for k in (*NL_KINDS, "gc")}]
    images = [_variant(image, i) for i in range(sessions)]

    def classroom(on: bool):
        def run():
            if on:
                cache.clear()
            else:
                cache.max_entries = 0
            try:
                threads = [
                    threading.Thread(target=lambda im=im: [analyse(bb, im, "bench") for bb in qi])
                    for im in images
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            finally:
                cache.max_entries = size

        return run

    c_off, c_on = paired_samples(classroom(False), classroom(True), repeat=repeat, warmup=1)
    med, low = ratios(c_on, c_off)
    print(
        f"{sessions} threads x {len(qi)} QI models on {sessions} new images at once: a trunk pass "
        f"per model median {statistics.median(c_off) * 1e3:.0f} ms (min {min(c_off) * 1e3:.0f}) "
        f"| shared trunk + cache median {statistics.median(c_on) * 1e3:.0f} ms "
        f"(min {min(c_on) * 1e3:.0f}) | speed-up {med:.2f}x (median), {low:.2f}x (min/min)"
    )
    loads = []
    for _ in range(3):
        t0 = time.perf_counter()
        build_trunk()
        loads.append(time.perf_counter() - t0)
    print(
        f"building one Lite0 trunk: min {min(loads) * 1e3:.0f} ms, now paid once per process "
        f"instead of once per zoo model ({len(backbones) - 1} x saved on a cold Compare page)"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--zoo-only", action="store_true", help="only the all-zoo-backbones sweep")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: common's 2)")
    args = p.parse_args()
    setup_threads(*([args.threads] if args.threads else []))
    data, _ = sample_image_bytes()
    if args.zoo_only:
        zoo_sweep(data, args.repeat)
        return 0
    from viz import views
    from viz.analysis.forward import nl_layers
    from viz.data.uploads import load_image

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
        h, w = analysis.records[layer].tensors["input"].shape[1:]
        base = [(h // 4, w // 4), (h // 2, w // 2)]
        clicks = []
        for i in range(max(args.repeat, 10)):
            q = base + [(i % h, (3 * i) % w)]
            t0 = time.perf_counter()
            # what a pin reruns (the Non-local fragment): the explorer payload and the statistics
            _Payload(views.nonlocal_explorer(analysis, layer)).to_json()
            views.nonlocal_pins(analysis, layer, q).table()
            clicks.append(time.perf_counter() - t0)
    finally:
        handle.remove()
    click = statistics.median(clicks)
    print(
        f"pin -> explorer payload + pinned statistics: median {click * 1e3:.1f} ms, "
        f"min {min(clicks) * 1e3:.1f} ms; forward passes during clicks: {forwards} | "
        f"goal <= {CLICK_S * 1e3:.0f} ms and 0 forwards: "
        f"{goal(click, CLICK_S) if forwards == 0 else 'NOT met'}"
    )
    print()
    zoo_sweep(data, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
