"""Time and peak extra memory of GCNet's Table-1 statistics at N = 196, 1024, 4096 positions, and the
sampled JSD's 95 % interval against the exact value.

Each N runs in a fresh subprocess (so the peak is its own): inputs and outputs (N, 512), attention
(N, N) softmax rows, all float32 as captured. ``query_independence`` runs with its defaults (exact
JSD for small maps, sampled pairs above ``viz.analysis.table1.EXACT_MAX_WORK``); the time is the
min of
``--repeat`` runs (noise on a shared machine only ever adds time). Memory is the growth of the
process's peak RSS (``getrusage`` ru_maxrss) across the calls — it counts torch's allocations,
which tracemalloc does not see, and also glibc's retention of freed blocks.
Goals at N = 4096: <= 10 s, <= 256 MB extra.

The comparison (``--compare 1024``) runs the default (sampled) and the exact JSD on the same maps,
for two kinds of rows: i.i.d. softmax rows (every pair's JSD is alike, so any interval is narrow)
and "mixed" rows (one shared map plus a query-dependent part of varying strength, like a trained
block's), and says whether the interval covers the exact value. ``--exact-sizes 4096`` also times
the exact JSD at that N once (minutes).

Run: ``python bench/stats_bench.py [--sizes 196 1024 4096] [--compare 1024] [--exact-sizes 4096]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from common import ROOT, THREADS, header, setup_threads

GOAL_MB = 256
GOAL_S = 10.0

_DATA = """
import json, math, resource, sys, time, torch
sys.path.insert(0, {root!r})
from viz.analysis.table1 import query_independence
torch.set_num_threads({threads})
n, c = {n}, 512
g = torch.Generator().manual_seed(0)
x = torch.randn(n, c, generator=g)
z = torch.randn(n, c, generator=g) * 0.1 + torch.randn(1, c, generator=g)
if {kind!r} == "iid":
    att = torch.softmax(torch.randn(n, n, generator=g) * 2, dim=1)
else:  # a shared map plus a query-dependent part whose strength varies by query
    strength = (torch.rand(n, 1, generator=g) * 1.5) ** 2
    att = torch.softmax(torch.randn(1, n, generator=g) * 2
                        + strength * torch.randn(n, n, generator=g), dim=1)
query_independence(x[:8], z[:8], att[:8, :8].softmax(1))  # warm up
query_independence(x[:8], z[:8], att[:8, :8].softmax(1), exact=False)


def timed(repeat, **kw):
    best, stats = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        stats = query_independence(x, z, att, **kw)
        best = min(best, time.perf_counter() - t0)
    return best, stats
"""

_TIME = """
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
seconds, stats = timed({repeat})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = {{"seconds": seconds, "extra_mb": (after - before) * 1024 / 1e6, **stats}}
if {exact}:
    out["exact_seconds"], ex = timed(1, exact=True)
    out["exact_jsd"] = ex["jsd_att"]
print(json.dumps(out))
"""

_COMPARE = """
seconds, s = timed({repeat})
exact_seconds, e = timed(1, exact=True)
print(json.dumps({{"seconds": seconds, "exact_seconds": exact_seconds, "exact": e["jsd_att"], **s}}))
"""


def _child(code: str, n: int, kind: str = "iid", **fmt) -> dict | str:
    src = _DATA.format(root=str(ROOT), threads=THREADS, n=n, kind=kind) + code.format(**fmt)
    run = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True)
    if run.returncode != 0:
        return f"failed: {run.stderr.strip().splitlines()[-1]}"
    return json.loads(run.stdout)


def _ci(r: dict) -> str:
    lo, hi = r["jsd_att_ci"]
    return "–" if r["jsd_att_method"] == "exact" else f"[{lo:.5f}, {hi:.5f}]"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[196, 1024, 4096])
    p.add_argument("--repeat", type=int, default=3, help="runs per size; the min is reported")
    p.add_argument("--compare", type=int, nargs="*", default=[1024], help="N for sampled vs exact")
    p.add_argument("--exact-sizes", type=int, nargs="*", default=[], help="also time exact here")
    args = p.parse_args()
    setup_threads()
    header(
        f"Table-1 statistics: time (min of {args.repeat}) and peak extra memory "
        f"(goals at N = 4096: <= {GOAL_S:.0f} s, <= {GOAL_MB} MB)"
    )
    print(
        "| N | JSD method | time s | / 10 s goal | peak extra MB (RSS) | cos_att | jsd_att | "
        "95 % interval | exact JSD (time s) | goal |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        r = _child(_TIME, n, repeat=args.repeat, exact=n in args.exact_sizes)
        if isinstance(r, str):
            print(f"| {n} | {r} | | | | | | | | |", flush=True)
            continue
        verdict = ""
        if n == 4096:
            ok = r["seconds"] <= GOAL_S and r["extra_mb"] <= GOAL_MB
            verdict = "met" if ok else "NOT met"
        exact = f"{r['exact_jsd']:.5f} ({r['exact_seconds']:.1f})" if "exact_jsd" in r else ""
        print(
            f"| {n} | {r['jsd_att_method']} | {r['seconds']:.2f} | {r['seconds'] / GOAL_S:.2f}x | "
            f"{r['extra_mb']:.1f} | {r['cos_att']:.4f} | {r['jsd_att']:.5f} | {_ci(r)} | {exact} | "
            f"{verdict} |",
            flush=True,
        )
    if args.compare:
        print()
        print("Sampled (default) vs exact JSD on the same maps:")
        print()
        print(
            "| N | rows | method | estimate | 95 % interval | exact | (est - exact) / SE | "
            "covers | time s | exact time s |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.compare:
        for kind in ("iid", "mixed"):
            r = _child(_COMPARE, n, kind, repeat=args.repeat)
            if isinstance(r, str):
                print(f"| {n} | {kind} | {r} | | | | | | | |", flush=True)
                continue
            lo, hi = r["jsd_att_ci"]
            z = (r["jsd_att"] - r["exact"]) / r["jsd_att_se"] if r["jsd_att_se"] else 0.0
            print(
                f"| {n} | {kind} | {r['jsd_att_method']} ({r['jsd_att_pairs']} pairs) | "
                f"{r['jsd_att']:.5f} | {_ci(r)} | {r['exact']:.5f} | {z:+.2f} | "
                f"{'yes' if lo <= r['exact'] <= hi else 'NO'} | {r['seconds']:.2f} | "
                f"{r['exact_seconds']:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
