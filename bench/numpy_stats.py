"""The numpy statistics (``viz.analysis.numpy_stats``) against the code they replaced: the pins'
statistics, the exact JSD at N = 196 and 784, the resizes and the payload's block mean.

The old code is ``tests/analysis/_stats_before.py`` (verbatim copies, also the tests' reference).
Each row times old and new interleaved in this one process (a, b, a, b, ...), on the same float32
rows as captured; ``new / old`` below 1 means the new code is faster. The old exact JSD ran in torch
(float64): it is timed with torch's intra-op threads at 2 (``bench/common.py``) and at 1 (how the
browser benches run the server, ``OMP_NUM_THREADS=1``); the new code is numpy on one thread.
Goal: new / old <= 1.0 for the pins and the JSD.

Run: ``python bench/numpy_stats.py [--repeat 15] [--sizes 196 784]``
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
import torch
from common import ROOT, THREADS, header, paired_samples, ratios, setup_threads

sys.path.insert(0, str(ROOT / "tests" / "analysis"))

import _stats_before as before  # noqa: E402

from viz.analysis import numpy_stats as ns  # noqa: E402
from viz.analysis.pins import pinned_statistics  # noqa: E402
from viz.figures.explorer_payload import block_mean  # noqa: E402


def _rows(n: int, k: int, seed: int = 0) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(n, k, generator=g) * 2, dim=1).numpy()  # float32


def _batch(fn, calls: int):
    """``calls`` calls of ``fn`` as one timed sample (one call is too short to time alone)."""
    return lambda: [fn() for _ in range(calls)]


def _row(label: str, n, old, new, repeat: int, calls: int = 1, goal: bool = True) -> None:
    ta, tb = paired_samples(_batch(old, calls), _batch(new, calls), repeat=repeat, warmup=1)
    med, low = ratios(ta, tb)
    ms = 1e3 / calls
    verdict = ("met" if med <= 1.0 else "NOT met") if goal else "(reported)"
    print(
        f"| {label} | {n} | {statistics.median(ta) * ms:.3f} / {min(ta) * ms:.3f} | "
        f"{statistics.median(tb) * ms:.3f} / {min(tb) * ms:.3f} | {med:.3f}x | {low:.3f}x | "
        f"{verdict} |",
        flush=True,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=15, help="interleaved samples per row")
    p.add_argument("--sizes", type=int, nargs="+", default=[196, 784], help="N = N' of the rows")
    args = p.parse_args()
    setup_threads()
    header("numpy statistics vs the code they replaced (new / old; goal <= 1.0x)")
    print()
    print(
        "| measure | N | old ms (median / min) | new ms (median / min) | new / old median | "
        "new / old min | goal |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        side = int(round(n**0.5))
        att = _rows(n, n)
        pins = [(r, (r * 5) % side) for r in range(0, side, max(1, side // 12))][:12]
        old_pins = before.pins_pinned_statistics(att, pins, (side, side), (side, side))
        new_pins = pinned_statistics(att, pins, (side, side), (side, side))
        assert np.allclose(old_pins.jsd, new_pins.jsd, atol=1e-9)
        _row(
            f"pins' statistics ({len(pins)} pins)",
            n,
            lambda a=att, q=pins, s=side: before.pins_pinned_statistics(a, q, (s, s), (s, s)),
            lambda a=att, q=pins, s=side: pinned_statistics(a, q, (s, s), (s, s)),
            args.repeat,
            calls=20,
        )
        assert abs(before.stats_mean_jsd(att) - ns.mean_jsd(att)) < 1e-9
        jsd_repeat = args.repeat if n <= 256 else max(3, args.repeat // 3)
        for threads in (THREADS, 1):
            torch.set_num_threads(threads)
            _row(
                f"exact mean JSD (old: torch, {threads} thread{'s' if threads > 1 else ''})",
                n,
                lambda a=att: before.stats_mean_jsd(a),
                lambda a=att: ns.mean_jsd(a),
                jsd_repeat,
            )
        torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    small, big, grid = rng.random((14, 14)), rng.random((224, 224)), rng.random((14, 14, 28, 28))
    for where, old, a, out in (
        ("skimage, `resize_bilinear`", before.raster_resize_bilinear, small, (300, 300)),
        ("Pillow float32, `colour_panel`", before.raster_colour_panel_resize, small, (150, 150)),
        ("torch float32, `resize_map`", before.attribution_resize_map, big, (100, 100)),
    ):
        _row(
            f"resize {a.shape[0]}x{a.shape[1]} -> {out[0]}x{out[1]} (old: {where})",
            "–",
            lambda old=old, a=a, out=out: old(a, out),
            lambda a=a, out=out: ns.resize_bilinear(a, out),
            args.repeat,
            calls=20,
            goal=False,
        )
    _row(
        "block mean, (14, 14, 28, 28) by 2 (old: `np.add.reduceat`)",
        784,
        lambda: before.explorer_payload_block_mean(grid, 2),
        lambda: block_mean(grid, 2),
        args.repeat,
        calls=20,
        goal=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
