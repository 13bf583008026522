"""viz.data.uploads under hostile uploads: JPEG scan bombs refused before decoding, decoded bytes
bounded (16-bit, float, alpha), content that does not match its name refused, concurrent decodes
held to a process-wide byte budget, and ordinary photos decoded exactly as Pillow decodes them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from viz.data import uploads
from viz.data.uploads import (
    MAX_DECODED_BYTES,
    MAX_JPEG_SCANS,
    MAX_JPEG_SEGMENTS,
    MAX_PIXELS,
    DecodeBudget,
    jpeg_markers,
    jpeg_scan_count,
    load_image,
)
from viz.errors import ImageError

ROOT = Path(__file__).resolve().parents[2]


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def photo(w: int, h: int, seed: int = 0) -> Image.Image:
    """Smooth structure plus noise: compresses like a photograph, not like a flat colour."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    base = np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.integers(-12, 13, (h, w, 3), dtype=np.int16)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


def scan_bomb(side: int = 2048, copies: int = 5000) -> bytes:
    """A progressive JPEG with its last scan repeated ``copies`` times: each copy is a full pass
    over the coefficient buffer for libjpeg, a few hundred bytes of file."""
    data = encode(photo(side, side), "JPEG", progressive=True, quality=80)
    eoi = data.rindex(b"\xff\xd9")
    starts = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\xff\xda"] + [eoi]
    scan = min((data[a:b] for a, b in zip(starts, starts[1:])), key=len)  # tables included
    return data[:eoi] + scan * copies + data[eoi:]


# ----------------------------------------------------------------------------- JPEG scans


def test_scan_count_walks_segments_not_bytes():
    """Stuffed 0xFF00 bytes, restart markers and an SOS byte pair inside a comment segment are
    not scans; the walker counts what libjpeg will decode."""
    img = photo(300, 200)
    assert jpeg_scan_count(encode(img, "JPEG")) == 1
    progressive = encode(img, "JPEG", progressive=True, restart_marker_blocks=1)
    assert b"\xff\xd0" in progressive and b"\xff\x00" in progressive
    assert jpeg_scan_count(progressive) == 10
    with_comment = encode(img, "JPEG", progressive=True, comment=b"\xff\xda" * 300)
    assert with_comment.count(b"\xff\xda") > 300
    assert jpeg_scan_count(with_comment) == 10
    assert jpeg_scan_count(b"not a jpeg") == 0
    assert jpeg_scan_count(progressive[:-2]) == 10  # truncated: counts what is there


def test_scan_bomb_is_refused_before_any_decoding(monkeypatch):
    bomb = scan_bomb()
    assert len(bomb) < 2_000_000

    def never(*args, **kwargs):
        raise AssertionError("the scan bomb reached the decoder")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    start = time.process_time()
    with pytest.raises(ImageError, match=f"more than {MAX_JPEG_SCANS} scans"):
        load_image(bomb, name="bomb.jpg")
    assert time.process_time() - start < 0.5


def test_scan_count_stops_at_the_limit():
    bomb = scan_bomb(side=64, copies=200_000)
    start = time.process_time()
    assert jpeg_scan_count(bomb, limit=MAX_JPEG_SCANS) == MAX_JPEG_SCANS + 1
    assert time.process_time() - start < 0.1


def test_marker_walk_is_bounded_on_hostile_layouts():
    """Millions of tiny comment segments are refused after MAX_JPEG_SEGMENTS; megabytes of fill
    bytes or restart markers are skipped in C, not byte by byte."""
    head = encode(photo(64, 64), "JPEG")[:-2]
    comments = head + b"\xff\xfe\x00\x02" * 2_000_000 + b"\xff\xd9"
    start = time.process_time()
    with pytest.raises(ImageError, match=f"more than {MAX_JPEG_SEGMENTS} marker segments"):
        load_image(comments)
    fill = b"\xff\xd8" + b"\xff" * 20_000_000 + b"\xff\xd9"
    restarts = head + b"\xff\xd0" * 10_000_000 + b"\xff\xd9"
    assert jpeg_markers(fill, MAX_JPEG_SCANS, MAX_JPEG_SEGMENTS) == (0, 1)
    assert jpeg_markers(restarts, MAX_JPEG_SCANS, MAX_JPEG_SEGMENTS)[0] == 1
    assert time.process_time() - start < 1.0


def test_ordinary_progressive_jpeg_still_loads():
    src = photo(640, 480)
    img = load_image(encode(src, "JPEG", progressive=True, quality=90), name="p.jpeg")
    assert img.size == (640, 480)
    assert np.abs(np.asarray(img, float) - np.asarray(src, float)).mean() < 8


def test_progressive_jpeg_is_held_to_the_pixel_bound_at_full_size(monkeypatch):
    """A baseline JPEG decodes at a reduced DCT scale; a progressive one buffers every coefficient
    at full size, so its full size must fit the bound."""
    monkeypatch.setattr(uploads, "MAX_PIXELS", 1_000_000)
    monkeypatch.setattr(uploads, "MAX_SIDE", 500)
    src = photo(2000, 1500)  # 3 MP
    assert load_image(encode(src, "JPEG")).size == (500, 375)
    with pytest.raises(ImageError, match="2000×1500"):
        load_image(encode(src, "JPEG", progressive=True))


# ----------------------------------------------------------------------------- bytes per pixel


@pytest.mark.parametrize(
    ("mode", "per_pixel"), [("F", 4), ("RGBA", 4), ("I;16", 2), ("LA", 2), ("RGB", 3)]
)
def test_decoded_bytes_bound_weighs_the_mode(monkeypatch, mode, per_pixel):
    """Headers only: the bound is checked before decoding. Pixels that fit as 8-bit RGB are
    refused as float or RGBA when their bytes exceed MAX_DECODED_BYTES."""
    monkeypatch.setattr(uploads, "MAX_DECODED_BYTES", 3 * 200 * 200)
    fits = 3 * 200 * 200 // per_pixel
    side = int(np.sqrt(fits))
    ok = Image.new(mode, (side, side))
    fmt = "TIFF" if mode in ("F", "I;16") else "PNG"
    assert load_image(encode(ok, fmt)).mode == "RGB"
    with pytest.raises(ImageError, match="bytes each"):
        load_image(encode(Image.new(mode, (side + 2, side + 2)), fmt))


# ----------------------------------------------------------------------------- name vs content


def test_content_must_match_the_name():
    tiff = encode(Image.new("RGB", (64, 64), (0, 0, 255)), "TIFF")
    with pytest.raises(ImageError, match=r"named \.png but holds a TIFF"):
        load_image(tiff, name="holiday.png")
    png = encode(Image.new("RGB", (64, 64)), "PNG")
    with pytest.raises(ImageError, match=r"named \.jpg but holds a PNG"):
        load_image(png, name="x.JPG")
    assert load_image(png, name="x.PNG").size == (64, 64)
    assert load_image(tiff, name="scan.tif").size == (64, 64)  # the batch command reads TIFFs
    assert load_image(tiff).size == (64, 64)  # no name: nothing to compare


# ----------------------------------------------------------------------------- ordinary photos


def test_ordinary_jpeg_decodes_to_pillows_pixels():
    data = encode(photo(1200, 900), "JPEG", quality=92)
    with Image.open(io.BytesIO(data)) as ref:
        ref.load()
        expected = np.asarray(ref.convert("RGB"))
    assert np.array_equal(np.asarray(load_image(data, name="photo.jpg")), expected)


def test_large_jpeg_decodes_as_pillows_draft_and_lanczos():
    data = encode(photo(4200, 2800), "JPEG", quality=90)
    with Image.open(io.BytesIO(data)) as ref:
        ref.draft(None, (2048, 1365))
        ref.load()
        expected = ref.resize((2048, 1365), Image.Resampling.LANCZOS, reducing_gap=3.0)
    got = load_image(data, name="big.jpeg")
    assert got.size == (2048, 1365)
    assert np.array_equal(np.asarray(got), np.asarray(expected))


def test_rgba_is_composited_after_the_reduction():
    """Half-transparent red over white is pink, whether reduced first or not."""
    big = Image.new("RGBA", (6000, 3000), (255, 0, 0, 128))
    out = load_image(encode(big, "PNG", compress_level=1))
    assert out.size == (2048, 1024)
    assert all(abs(int(c) - e) <= 1 for c, e in zip(out.getpixel((500, 500)), (255, 127, 127)))


def test_float_rescaling_matches_the_float64_reference():
    rng = np.random.default_rng(3)
    a = (rng.standard_normal((120, 90)) * 1e5).astype(np.float32)
    a[0, 0], a[1, 1] = np.nan, np.inf
    out = np.asarray(uploads._rescale_to_8bit(Image.fromarray(a, mode="F")))
    b = a.astype(np.float64)
    finite = b[np.isfinite(b)]
    lo, hi = finite.min(), finite.max()
    ref = np.nan_to_num((b - lo) / (hi - lo) * 255.0, nan=0.0, posinf=255.0, neginf=0.0)
    ref = np.clip(np.rint(ref), 0, 255).astype(np.uint8)
    assert np.abs(out.astype(int) - ref).max() <= 1
    i16 = np.arange(0, 65536, 7, dtype=np.uint16)[: 100 * 90].reshape(100, 90)
    out16 = np.asarray(uploads._rescale_to_8bit(Image.fromarray(i16)))
    assert np.array_equal(out16, np.rint(i16 / 257.0).astype(np.uint8))


# ----------------------------------------------------------------------------- the budget


def test_concurrent_decodes_wait_for_the_byte_budget(monkeypatch):
    """Three decodes through a budget that holds two: the high-water mark stays within it, one
    waits (and says so through ``on_wait``), and everything is handed back afterwards."""
    data = [encode(photo(1500, 1000, seed=i), "PNG", compress_level=1) for i in range(3)]
    one = uploads._decode_estimate(1500, 1000, "RGB", 0)
    budget = DecodeBudget(2 * one + 1)
    monkeypatch.setattr(uploads, "DECODE_BUDGET", budget)
    normalize = uploads.normalize_image

    def slow_normalize(img):  # long enough that all three overlap
        time.sleep(0.3)
        return normalize(img)

    monkeypatch.setattr(uploads, "normalize_image", slow_normalize)
    gate = threading.Barrier(3)
    waited: list[int] = []
    results: list = [None] * 3

    def decode(i: int) -> None:
        gate.wait()
        results[i] = load_image(data[i], name=f"{i}.png", on_wait=lambda: waited.append(i))

    threads = [threading.Thread(target=decode, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None and r.size == (1500, 1000) for r in results)
    assert budget.high_water == 2 * one <= budget.capacity  # two ran side by side, never three
    assert budget.in_use == 0
    assert len(waited) == 1  # the third waited its turn and said so


def test_budget_blocks_and_releases():
    budget = DecodeBudget(100)
    waited, entered, leave = threading.Event(), threading.Event(), threading.Event()

    def second() -> None:
        with budget.hold(60, on_wait=waited.set):
            entered.set()
            leave.wait(5)

    with budget.hold(70):
        t = threading.Thread(target=second)
        t.start()
        assert waited.wait(5)
        time.sleep(0.1)
        assert not entered.is_set() and budget.in_use == 70  # the second holder still waits
    assert entered.wait(5) and budget.in_use == 60 and budget.high_water == 70
    leave.set()
    t.join(5)
    assert budget.in_use == 0
    with budget.hold(10_000) as held:  # more than the capacity: takes all of it, runs alone
        assert held == 100


# ----------------------------------------------------------------------------- memory, measured

_PROBE = """
import json, sys, threading, time
from pathlib import Path
from viz.data.uploads import load_image, DECODE_BUDGET
paths = sys.argv[1:]
blobs = [Path(p).read_bytes() for p in paths]
def status_kb(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
# VmHWM is the peak resident size of this process's own memory. ru_maxrss is not: Linux carries
# it over from the parent through fork and exec, so under pytest it starts at the runner's ~1.2 GB.
before = status_kb("VmRSS")
cpu = time.process_time()
errors = []
def run(b, name):
    try:
        load_image(b, name=name)
    except Exception as e:
        errors.append(str(e))
threads = [threading.Thread(target=run, args=(b, Path(p).name)) for b, p in zip(blobs, paths)]
for t in threads: t.start()
for t in threads: t.join()
after = status_kb("VmHWM")
print(json.dumps({"peak_mb": (after - before) / 1024, "left_mb": (status_kb("VmRSS") - before) / 1024, "cpu_s": time.process_time() - cpu,
                  "errors": errors, "high_water_mb": DECODE_BUDGET.high_water / 2**20}))
"""


def _probe(*paths: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def crafted(tmp_path_factory) -> dict[str, Path]:
    """Small files that decode to (just under) the largest image the bounds allow."""
    folder = tmp_path_factory.mktemp("crafted")
    side4 = int(np.sqrt(MAX_DECODED_BYTES / 4)) - 8  # 4 bytes a pixel: float, RGBA
    side2 = int(np.sqrt(min(MAX_PIXELS, MAX_DECODED_BYTES / 2))) - 8  # 16-bit
    ramp = np.floor(np.linspace(0, 16, side4, endpoint=False, dtype=np.float32)) / 16
    f = Image.fromarray(np.broadcast_to(ramp, (side4, side4)).copy(), mode="F")
    paths = {"float.tif": folder / "float.tif", "16bit.png": folder / "16bit.png"}
    f.save(paths["float.tif"], format="TIFF", compression="tiff_adobe_deflate")
    del f
    i16 = (np.arange(side2, dtype=np.uint16) * 7)[None, :].repeat(side2, axis=0)
    Image.fromarray(i16).save(paths["16bit.png"], compress_level=1)
    del i16
    paths["rgba.png"] = folder / "rgba.png"
    Image.new("RGBA", (side4, side4), (200, 30, 30, 100)).save(paths["rgba.png"], compress_level=1)
    return paths


@pytest.mark.parametrize("name", ["float.tif", "16bit.png", "rgba.png"])
def test_largest_allowed_decode_stays_under_700_mb(crafted, name):
    path = crafted[name]
    assert path.stat().st_size < 2_000_000
    got = _probe(path)
    print(name, got)
    assert got["errors"] == []
    assert got["peak_mb"] < 700
    assert got["left_mb"] < 100  # the memory is handed back after the decode
    assert got["cpu_s"] < 6  # 3 s on an idle core; slack for a shared CI machine


def test_three_largest_decodes_at_once_stay_under_the_budget(crafted):
    got = _probe(crafted["float.tif"], crafted["rgba.png"], crafted["float.tif"])
    print("three at once", got)
    assert got["errors"] == []
    assert got["high_water_mb"] <= uploads.DECODE_BUDGET_BYTES / 2**20
    assert got["peak_mb"] < 1500
    assert got["left_mb"] < 100
