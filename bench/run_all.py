"""Run every benchmark, one subprocess each, and print their reports in order.

Run: ``python bench/run_all.py [--quick]`` (``--quick``: fewer repeats, stats up to N = 1024).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    quick = {
        "capture_overhead.py": ["--repeat", "3"],
        "page_latency.py": ["--repeat", "3"],
        "stats_bench.py": ["--sizes", "196", "1024"],
        "numpy_stats.py": ["--repeat", "5"],
        "peer_gradcam.py": ["--repeat", "3"],
    }
    failed = []
    for script in (
        "capture_overhead.py",
        "page_latency.py",
        "stats_bench.py",
        "numpy_stats.py",
        "peer_gradcam.py",
        "cold_start.py",
    ):
        extra = quick.get(script, []) if args.quick else []
        print(f"\n$ python bench/{script} {' '.join(extra)}".rstrip(), flush=True)
        code = subprocess.call([sys.executable, str(HERE / script), *extra], cwd=HERE.parent)
        if code != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
