"""The harness itself (``harness/``), which the browser tests, the browser benchmarks and the
screenshots share: a served app answers and is gone, process group and all, after its block; a
server that exits is reported at once instead of after the health deadline; the uploaded pictures
are the ones the benchmarks have always sent."""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
from PIL import Image

from harness.browser import photo_png
from harness.server import free_port, http_get, serve_app, start_app, stop_app, wait_healthy


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_photos_are_fixed_by_their_seed_and_size():
    a = _pixels(photo_png(3, (480, 320)))
    assert a.shape == (320, 480, 3)
    assert np.array_equal(a, _pixels(photo_png(3, (480, 320))))
    assert not np.array_equal(a, _pixels(photo_png(4, (480, 320))))
    assert _pixels(photo_png()).shape == (300, 451, 3)  # chelsea


def test_noise_is_added_per_pixel_below_its_bound():
    smooth = _pixels(photo_png(1, (480, 320)))
    noisy = _pixels(photo_png(1, (480, 320), noise=30))
    grain = (noisy - smooth) % 256  # uint8 sums wrap, as the benchmarks' pictures always have
    assert grain.max() < 30
    assert grain.std() > 5  # really noise, not an offset


@pytest.mark.browser
def test_a_served_app_answers_and_is_gone_after_its_block(tmp_path):
    (tmp_path / "app.py").write_text("import streamlit as st\nst.write('hello')\n")
    log = tmp_path / "logs" / "server.log"
    with serve_app(root=tmp_path, log=log) as server:
        assert http_get(f"{server.url}/_stcore/health") == (200, "ok")
        pid = server.pid
    assert server.proc.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nothing is left in the server's process group
    assert server.log.closed and "streamlit" in log.read_text().lower()


@pytest.mark.browser
def test_a_server_that_exits_is_reported_at_once(tmp_path):
    server = start_app(free_port(), root=tmp_path)  # no app.py there: streamlit exits
    t0 = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match="exited"):
            wait_healthy(server, timeout=60)
    finally:
        stop_app(server)
    assert time.monotonic() - t0 < 30
