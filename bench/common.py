"""Shared helpers of the benchmark scripts: machine line, timing, and the models they time.

Benchmarks print RATIOS measured in one run (both sides timed in the same process, interleaved),
because absolute times on a shared 2-core machine say little; the machine line says where.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/x.py` from anywhere
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

THREADS = 2


def setup_threads(n: int = THREADS) -> None:
    """Fix torch's intra-op threads so runs are comparable."""
    torch.set_num_threads(n)


def machine_line() -> str:
    """Date, CPU, cores, load, Python/torch versions and torch threads: where a number came from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = "load {:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())
    except OSError:
        load = "load n/a"
    return (
        f"{_dt.datetime.now().isoformat(timespec='seconds')} | {cpu} | {os.cpu_count()} cores | "
        f"{load} | Python {platform.python_version()} | torch {torch.__version__} | "
        f"torch threads {torch.get_num_threads()}"
    )


def header(title: str) -> None:
    print(f"# {title}")
    print(machine_line())


def median_time(fn: Callable[[], object], repeat: int = 10, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired_samples(
    a: Callable[[], object], b: Callable[[], object], repeat: int = 10, warmup: int = 2
) -> tuple[list[float], list[float]]:
    """Wall times of ``a`` and ``b`` run alternately (a, b, a, b, ...), so load drift hits both."""
    for _ in range(warmup):
        a()
        b()
    ta, tb = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    return ta, tb


def ratios(ta: list[float], tb: list[float]) -> tuple[float, float]:
    """(median ratio, min ratio) of b over a. On a loaded shared machine the min-over-min ratio is
    the better estimate of the intrinsic cost (noise only ever adds time); both are printed."""
    return statistics.median(tb) / statistics.median(ta), min(tb) / min(ta)


def zoo_backbone(kind: str = "nl_embedded_gaussian"):
    """The zoo backbone ``zoo/<kind>``; when its checkpoint is missing, the same architecture with
    the attention module and head untrained (the ImageNet Lite0 trunk is real either way).

    Returns:
        (Backbone, trained: bool). Timing does not depend on the weights' values; figures that show
        what the maps look like do, so untrained runs are labelled as such.
    """
    from viz.errors import WeightsUnavailable
    from viz.weights.registry import backbone_info, load_backbone
    from viz.weights.spec import Backbone

    name = f"zoo/{kind}"
    try:
        return load_backbone(name, "cpu"), True
    except WeightsUnavailable:
        pass
    from viz.models.zoo import INPUT_SIZE, ZooNet, build_trunk
    from viz.weights.transforms import normalise, resize_center_crop

    torch.manual_seed(0)
    model = ZooNet(kind, build_trunk()).eval()

    def prepare(image):
        return resize_center_crop(image, INPUT_SIZE)

    meta = {**backbone_info(name).meta, "trained": False, "table1": None}
    return (
        Backbone(
            name=f"{name} (untrained head/attention)",
            model=model,
            preprocess=lambda image: normalise(prepare(image)),
            meta=meta,
            device=torch.device("cpu"),
            prepare=prepare,
        ),
        False,
    )


def sample_image_bytes() -> tuple[bytes, str]:
    """A real photo as PNG bytes (scikit-image's chelsea, shipped in its wheel)."""
    import io

    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.chelsea()).save(buf, format="PNG")
    return buf.getvalue(), "skimage chelsea (451x300 PNG)"


def goal(ratio: float, limit: float) -> str:
    return "met" if ratio <= limit else "NOT met"


# The browser benchmarks' servers and waits (the harness is at the root, put on sys.path above).
from harness.browser import Waits  # noqa: E402

SERVER_ENV = {"OMP_NUM_THREADS": "1"}  # torch on one thread: a training job may share the cores
SLOW = 300_000  # ms: the deadline of any in-page wait
# the waits poll every 100 ms, not every animation frame (Playwright's default): six tabs polled
# per frame cost their renderers CPU the classroom does not have; the times quoted are recorded in
# the tabs themselves, so the polling interval does not enter them
POLL_MS = 100
BROWSER_WAITS = Waits(timeout_ms=SLOW, before_ms=200, after_ms=0, polling=POLL_MS)
