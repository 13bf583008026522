"""Time and peak extra memory of GCNet's Table-1 statistics at N = 196, 1024, 4096 positions.

Each N runs in a fresh subprocess (so the peak is its own): inputs and outputs (N, 512), attention
(N, N) softmax rows, all float32 as captured. Memory is the growth of the process's peak RSS
(``getrusage`` ru_maxrss) across ``query_independence`` — it counts torch's allocations, which
tracemalloc does not see, and also glibc's retention of freed blocks. Goal: <= 256 MB extra at
N = 4096. The JSD is O(N^2 N') and dominates the time.

Run: ``python bench/stats_bench.py [--sizes 196 1024 4096]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from common import ROOT, THREADS, header, setup_threads

GOAL_MB = 256

_CHILD = """
import json, resource, sys, time, torch
sys.path.insert(0, {root!r})
from viz.stats import query_independence
torch.set_num_threads({threads})
n, c = {n}, 512
g = torch.Generator().manual_seed(0)
x = torch.randn(n, c, generator=g)
z = torch.randn(n, c, generator=g) * 0.1 + torch.randn(1, c, generator=g)
att = torch.softmax(torch.randn(n, n, generator=g) * 2, dim=1)
query_independence(x[:8], z[:8], att[:8, :8] / att[:8, :8].sum(1, keepdim=True))  # warm up
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
stats = query_independence(x, z, att)
seconds = time.perf_counter() - t0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "extra_mb": (after - before) * 1024 / 1e6, **stats}}))
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[196, 1024, 4096])
    args = p.parse_args()
    setup_threads()
    header("Table-1 statistics: time and peak extra memory (goal <= 256 MB at N = 4096)")
    print("| N | time s | peak extra MB (RSS) | cos_att | jsd_att | goal |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        code = _CHILD.format(root=str(ROOT), threads=THREADS, n=n)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"| {n} | failed: {run.stderr.strip().splitlines()[-1]} | | | | |")
            continue
        r = json.loads(run.stdout)
        verdict = ("met" if r["extra_mb"] <= GOAL_MB else "NOT met") if n == 4096 else ""
        print(
            f"| {n} | {r['seconds']:.2f} | {r['extra_mb']:.1f} | {r['cos_att']:.4f} | "
            f"{r['jsd_att']:.4f} | {verdict} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
