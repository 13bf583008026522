"""A classroom on one server: many sessions capturing through one cached model at once, huge uploads,
and two AppTest sessions side by side — nobody sees anybody else's tensors, memory stays bounded."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from viz import ui
from viz.analysis.forward import analyse
from viz.data.uploads import load_image
from viz.weights.registry import load_backbone

ROOT = Path(__file__).resolve().parents[2]
NL_MODEL = "zoo/nl_embedded_gaussian"


def _photo(seed: int, size=(300, 220)) -> Image.Image:
    """A smooth random picture (structure at several scales, so attention rows differ)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize(size, Image.BICUBIC)
    noise = rng.integers(0, 40, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(np.clip(np.asarray(img) + noise, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def nl_backbone():
    return load_backbone(NL_MODEL, device="cpu")


def test_eight_threads_through_one_cached_model(nl_backbone):
    images = [_photo(i) for i in range(8)]
    alone = [analyse(nl_backbone, img) for img in images]
    results: list = [None] * len(images)
    errors: list = []
    barrier = threading.Barrier(len(images))

    def work(i):
        try:
            barrier.wait()
            for _ in range(3):
                results[i] = analyse(nl_backbone, images[i])
        except Exception as exc:  # surfaced below with the thread's index
            errors.append((i, exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(images))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for got, want in zip(results, alone):
        assert got.records.keys() == want.records.keys()
        for path, rec in want.records.items():
            for name, arr in rec.tensors.items():
                np.testing.assert_allclose(
                    got.records[path].tensors[name], arr, rtol=1e-5, atol=1e-6
                )
        assert got.prediction == want.prediction
    # and the images really were different, so mixing would have shown
    first = next(iter(alone[0].records))
    assert not np.allclose(
        alone[0].records[first].tensors["attention"], alone[1].records[first].tensors["attention"]
    )


def test_huge_upload_is_bounded_before_the_forward_pass(nl_backbone):
    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(0, 256, (2048, 2048, 3), dtype=np.uint8))
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    img = load_image(buf.getvalue())
    analysis = analyse(nl_backbone, img)
    side = nl_backbone.meta.input_size
    assert analysis.input_shape == (1, 3, side, side)
    (record,) = [r for r in analysis.records.values() if r.kind.startswith("nl_")]
    n = record.tensors["attention"].shape[0]
    assert n == (side // 16) ** 2  # stride-16 map of the bounded input, not of 2048 px
    assert record.tensors["attention"].nbytes < 4 * 2**20


def test_two_apptest_sessions_side_by_side_stay_isolated():
    """Two live AppTest sessions of one process, their runs interleaved, each showing only its own
    upload. Why interleaved and not in threads: AppTest (Streamlit 1.67, testing/v1/app_test.py)
    publishes each run's mock runtime as the process-wide ``Runtime._instance``, sets it to None
    when the run ends and patches ``config.get_option`` globally, so a run in another thread starts
    with no runtime ("Runtime hasn't been created!" in the script thread, then no sidebar, then the
    old "'NoneType' object has no attribute 'exception'") and the patch can outlive the test.
    Concurrent sessions on one model are covered by the threads above and the browser tests."""
    # no PagesManager patch: without a pages/ folder every AppTest run is a plain st.navigation
    # run (docs/ARCHITECTURE.md, "Why app_pages/"; tests/app/test_startup.py)
    from streamlit.testing.v1 import AppTest

    uploads = []
    for seed in (1, 2):
        buf = io.BytesIO()
        _photo(seed).save(buf, format="PNG")
        uploads.append(buf.getvalue())

    def steps(data: bytes):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.session_state["backbone"] = NL_MODEL
        at.run()
        yield at
        assert at.sidebar.file_uploader, "sidebar uploader missing: app.py did not run"
        at.sidebar.file_uploader[0].set_value((f"img{len(data)}.png", data, "image/png")).run()
        yield at
        at.switch_page("app_pages/nonlocal.py").run()
        yield at

    def run_alone(data: bytes):
        *_, at = steps(data)
        return at

    alone = [run_alone(d) for d in uploads]
    sessions = [steps(d) for d in uploads]
    together = [None, None]
    for _ in range(3):  # A runs, then B, then A's next step, ...
        for i, gen in enumerate(sessions):
            together[i] = next(gen)

    def metrics(at) -> list[str]:
        assert not at.exception, [e.value for e in at.exception]
        return [m.value for m in at.metric]

    for a, b, data in zip(alone, together, uploads):
        assert metrics(b), "the Non-local page showed no statistics"
        assert metrics(a) == metrics(b)
        assert b.session_state[ui.IMAGE_KEY][0] == session_hash(data)
    assert metrics(alone[0]) != metrics(alone[1])


def session_hash(data: bytes) -> str:
    from viz.data.uploads import image_hash

    return image_hash(data)
