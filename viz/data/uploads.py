"""Decoding and validating uploaded images.

Everything a user uploads passes through :func:`load_image` before it reaches a model, so this is the
one place that turns arbitrary bytes into a well-behaved RGB picture or a sentence the page can show.

Rules (the README "Limits" paragraph mirrors these):

* Accepted formats: PNG, JPEG, WebP, BMP, GIF (first frame), TIFF (first page). Anything else, and
  anything that is not an image at all, is refused with :class:`ImageError`.
* At most :data:`MAX_UPLOAD_BYTES` of file and :data:`MAX_PIXELS` of *decoded* pixels. The pixel count
  is read from the header, before any pixel data is decoded, so a decompression bomb costs nothing.
  Baseline JPEGs are decoded at a reduced DCT scale (1/2, 1/4, 1/8) when they are larger than needed, and the
  bound applies to that reduced size, so a 100-megapixel camera JPEG still loads. PIL's own guard
  still refuses any header above ~179 MP (2 x ``Image.MAX_IMAGE_PIXELS``) and warns above ~89 MP.
* Valid photos whose longest side exceeds :data:`MAX_SIDE` are downscaled (Lanczos) to it; images whose
  shorter side is below :data:`MIN_SIDE` are upscaled (bicubic) to it. Panoramas (any aspect) are
  accepted: an image more elongated than :data:`MAX_ASPECT` : 1 is first centre-cropped along its
  long side to MAX_ASPECT : 1. Every backbone resizes the shorter side and takes the central square,
  which lies inside that crop, so the models see exactly what they would have seen of the whole
  panorama, and the shorter side is not shrunk to a sliver by the MAX_SIDE bound.
  ``img.info["crop_box"]`` records the crop; :func:`model_view_box` gives the central square.
* Truncated or corrupt files are refused: a half-decoded image is never returned silently.
* EXIF orientation is applied (the result is upright), transparency is composited over white, CMYK and
  ICC-tagged RGB/CMYK images are converted to sRGB, 16-bit and float greyscale are rescaled to 8 bits (not
  clipped), palette and 1-bit images are expanded.

* Bounded work and memory (a shared classroom server; hostile uploads must not stall or exhaust it):
  a JPEG with more than :data:`MAX_JPEG_SCANS` scans is refused from its markers before any decoding
  (libjpeg has no scan limit, and every progressive scan walks the whole coefficient buffer again);
  the decoded image may take at most :data:`MAX_DECODED_BYTES` (pixels weighed by bytes per pixel:
  16-bit, float, alpha, and a multi-scan JPEG's full-size coefficient buffer); large images are
  reduced in their own mode before any mode conversion; and every decode holds its estimated bytes
  of :data:`DECODE_BUDGET`, a process-wide budget, so concurrent uploads wait their turn.
* When the file's name is given, its extension must match the format found in the bytes (a TIFF
  named ``.png`` is refused): the uploader filters by name only.

PIL's global ``Image.MAX_IMAGE_PIXELS`` is left untouched: the bound is checked per call here.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from viz.errors import ImageError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # matches .streamlit/config.toml maxUploadSize = 50 (MB)
MAX_PIXELS = 50_000_000  # decoded pixels (width x height) before any downscaling
MAX_SIDE = 2048  # longest side of a returned image; larger valid images are downscaled (Lanczos)
MIN_SIDE = 32  # shorter side of a returned image; smaller images are upscaled (bicubic)
MAX_ASPECT = 10.0  # longest / shortest side kept; more elongated images are centre-cropped to it
# Bytes the decoded image may take: MAX_PIXELS of 8-bit RGB. A float, 16-bit or alpha image (or a
# multi-scan JPEG, whose coefficients are buffered at full size) gets correspondingly fewer pixels.
MAX_DECODED_BYTES = 3 * MAX_PIXELS
# libjpeg's own progressive script writes 10 scans (6 for greyscale), other encoders up to ~20;
# 100 leaves ample room for any real encoder while one scan bomb (thousands of scans, each a full
# pass over the coefficients) is refused before it costs anything.
MAX_JPEG_SCANS = 100
# Marker segments walked to count the scans: real files have a few dozen (up to ~300 with a chunked
# ICC profile); a file of millions of tiny comment segments is refused instead of walked.
MAX_JPEG_SEGMENTS = 5000
# Process-wide bytes that concurrent decodes may hold at once (estimated peaks, see
# _decode_estimate): one of the largest allowed decodes (estimated ~575 MB, measured <= 470 MB) with
# ordinary photos beside it, or about six 12 MP photos at once; the rest wait their turn.
DECODE_BUDGET_BYTES = 768 * 1024 * 1024
_TRIM_AFTER_BYTES = 64 * 1024 * 1024  # decodes at least this large return their heap afterwards

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
ACCEPTED_TEXT = "PNG, JPEG, WebP, BMP, GIF, TIFF are accepted"
# file-name extension -> the formats its bytes may hold (Pillow names; MPO is a multi-picture JPEG)
EXTENSION_FORMATS = {
    "png": ("PNG",),
    "jpg": ("JPEG", "MPO"),
    "jpeg": ("JPEG", "MPO"),
    "jpe": ("JPEG", "MPO"),
    "jfif": ("JPEG", "MPO"),
    "webp": ("WEBP",),
    "bmp": ("BMP",),
    "dib": ("BMP",),
    "gif": ("GIF",),
    "tif": ("TIFF",),
    "tiff": ("TIFF",),
}

_WHITE = (255, 255, 255)


class DecodeBudget:
    """A counting semaphore sized in bytes, shared by every session of the process.

    Each decode holds its estimated peak bytes while it runs; when they do not fit, it waits for
    others to finish rather than stacking gigabytes. A request above the whole capacity takes the
    whole capacity (it runs alone). ``high_water`` records the most bytes ever held at once.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self.in_use = 0
        self.high_water = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, nbytes: int, on_wait: Callable[[], None] | None = None) -> Iterator[int]:
        """Hold ``nbytes`` (clamped to ``[0, capacity]``) for the ``with`` block.

        ``on_wait`` is called once, outside the lock, when the bytes are not free at once, so a
        page can show that it is waiting instead of freezing silently.
        """
        n = min(max(int(nbytes), 0), self.capacity)
        with self._cond:
            must_wait = self.in_use + n > self.capacity
        if must_wait and on_wait is not None:
            on_wait()
        with self._cond:
            while self.in_use + n > self.capacity:
                self._cond.wait()
            self.in_use += n
            self.high_water = max(self.high_water, self.in_use)
        try:
            yield n
        finally:
            with self._cond:
                self.in_use -= n
                self._cond.notify_all()


DECODE_BUDGET = DecodeBudget(DECODE_BUDGET_BYTES)


def _load_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None elsewhere (musl, macOS, Windows)."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _load_malloc_trim()


def _return_memory() -> None:
    """Hand freed heap back to the system after a large decode.

    Decodes in Streamlit's script threads free their buffers into glibc's per-thread arenas, which
    keep them: three large decodes at once left ~370 MB resident for good. ``malloc_trim`` gives
    it back (measured: 23 MB left); a few milliseconds, called only after large decodes.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


# An 0xFF byte followed by 0x00 (stuffing in entropy-coded data), RST0-7 (0xD0-0xD7) or another
# 0xFF (fill) is not a marker; anything else after it is. Searching with this skips a scan's
# entropy-coded data, restart markers and fill bytes in C, however long they are.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def jpeg_markers(data: bytes, max_scans: int, max_segments: int) -> tuple[int, int]:
    """``(scans, segments)`` of the first picture of a JPEG, read from its marker segments.

    Walks the segments by their length fields (so marker-like bytes inside APPn or comment
    payloads are not counted) and skips each scan's entropy-coded data without decoding anything.
    Stops at EOI, at the end of the data, or once ``scans`` passes ``max_scans`` or ``segments``
    passes ``max_segments`` (the walk is a Python loop per segment, so their number is bounded too).
    """
    if not data.startswith(b"\xff\xd8"):
        return 0, 0
    scans, segments, pos, end = 0, 0, 2, len(data)
    while scans <= max_scans and segments <= max_segments:
        found = _NEXT_MARKER.search(data, pos)
        if found is None:
            break
        marker, pos = data[found.start() + 1], found.start() + 2
        segments += 1
        if marker == 0xD9:  # EOI
            break
        if marker == 0x01:  # TEM: no length field
            continue
        if pos + 2 > end:
            break
        pos += int.from_bytes(data[pos : pos + 2], "big")
        scans += marker == 0xDA  # SOS; the next search skips the scan's entropy-coded data
    return scans, segments


def jpeg_scan_count(data: bytes, limit: int = MAX_JPEG_SCANS) -> int:
    """Number of scans (SOS markers) in the first picture of a JPEG, counted up to ``limit + 1``."""
    return jpeg_markers(data, limit, max_segments=len(data))[0]


def image_hash(data: bytes) -> str:
    """SHA-256 hex digest of the raw file bytes; the cache key for captures of this image.

    Args:
        data: the uploaded file's bytes (``bytes``, ``bytearray`` or ``memoryview``).

    Returns:
        64 lowercase hex characters.
    """
    return hashlib.sha256(_as_bytes(data)).hexdigest()


def _as_bytes(data: Any) -> bytes:
    """Accept bytes-like objects and Streamlit's ``UploadedFile`` (anything with ``getvalue``)."""
    if hasattr(data, "getvalue"):
        data = data.getvalue()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"load_image expects bytes, got {type(data).__name__}")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _check_geometry(width: int, height: int, pixels_too: bool = True) -> None:
    """Refuse empty and over-large images from their header size alone."""
    if width <= 0 or height <= 0:
        raise ImageError(f"The image claims a size of {width}×{height} pixels, which is empty.")
    pixels = width * height
    if pixels_too and pixels > MAX_PIXELS:
        raise ImageError(
            f"The image is {width}×{height} pixels ({pixels / 1e6:.0f} megapixels); the limit is "
            f"{MAX_PIXELS / 1e6:.0f} megapixels. Downscale it and upload it again."
        )


def panorama_crop_box(width: int, height: int) -> tuple[int, int, int, int] | None:
    """The centred (left, top, right, bottom) box that trims an image more elongated than
    MAX_ASPECT : 1 to MAX_ASPECT : 1, or None when it is not that elongated."""
    longest, shortest = max(width, height), min(width, height)
    if shortest <= 0 or longest <= MAX_ASPECT * shortest:
        return None
    keep = max(shortest, int(MAX_ASPECT * shortest))
    if width >= height:
        left = (width - keep) // 2
        return left, 0, left + keep, height
    top = (height - keep) // 2
    return 0, top, width, top + keep


def model_view_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The central square (left, top, right, bottom) that a shorter-side resize + centre crop keeps:
    what every backbone's ``prepare`` shows the model, in this image's pixel coordinates."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def _target_size(width: int, height: int) -> tuple[int, int]:
    """Size after the MAX_SIDE / MIN_SIDE bounds, keeping the aspect ratio."""
    box = panorama_crop_box(width, height)
    if box is not None:
        width, height = box[2] - box[0], box[3] - box[1]
    longest, shortest = max(width, height), min(width, height)
    if longest > MAX_SIDE:
        f = MAX_SIDE / longest
    elif shortest < MIN_SIDE:
        f = MIN_SIDE / shortest
    else:
        return width, height
    return max(1, round(width * f)), max(1, round(height * f))


def _rescale_to_8bit(im: Image.Image) -> Image.Image:
    """16-bit / 32-bit / float greyscale -> 8-bit "L", scaling the range instead of clipping it.

    PIL's own ``convert("L")`` clips I;16 values above 255, turning an ordinary 16-bit photo white.
    16-bit modes use the full 0..65535 range; "I" and "F" are treated as 8-bit, 16-bit or unit-range
    data when their values fit one of those, and min-max stretched otherwise. One float32 working
    copy, scaled in place (float64 copies doubled the peak memory of a large float image).
    """
    a = np.asarray(im).astype(
        np.float32
    )  # a writable float32 copy; nothing below allocates another
    if im.mode.startswith("I;16"):
        np.divide(a, np.float32(257.0), out=a)
    else:
        bad = ~np.isfinite(a)
        finite = a[~bad] if bad.any() else a
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        del bad, finite
        if im.mode == "F" and lo >= 0.0 and hi <= 1.0:
            np.multiply(a, np.float32(255.0), out=a)
        elif lo >= 0.0 and hi <= 255.0:
            pass
        elif lo >= 0.0 and hi <= 65535.0:
            np.divide(a, np.float32(257.0), out=a)
        elif hi > lo:
            scale = 255.0 / (hi - lo)  # scale before shifting: no float32 overflow for huge ranges
            np.multiply(a, np.float32(scale), out=a)
            np.subtract(a, np.float32(lo * scale), out=a)
        else:
            a.fill(0.0)
        np.nan_to_num(a, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
    np.rint(a, out=a)
    np.clip(a, 0, 255, out=a)
    return Image.fromarray(a.astype(np.uint8), mode="L")


def _icc_to_srgb(im: Image.Image) -> Image.Image | None:
    """Convert an ICC-tagged RGB/CMYK image to sRGB; None when there is no usable profile."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "CMYK"):
        return None
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
    except Exception:  # a broken or unsupported profile: fall back to PIL's plain conversion
        return None


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode -> "RGB", compositing transparency over white."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        im = _rescale_to_8bit(im)
    if im.mode == "1":
        im = im.convert("L")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    converted = _icc_to_srgb(im)
    if converted is not None:
        return converted
    if im.mode == "RGB":
        return im
    try:
        return im.convert("RGB")
    except (ValueError, OSError) as err:
        raise ImageError(
            f"The image uses the colour mode {im.mode!r}, which cannot be converted to RGB."
        ) from err


_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def _shrink_before_convert(im: Image.Image) -> Image.Image:
    """Box-average a large non-RGB image in its own mode down to twice its final size.

    Converting the mode (16-bit/float rescaling, alpha compositing, palette expansion) then works
    on at most 4 x MAX_SIDE² pixels instead of the full decode, and the final Lanczos resize in
    :func:`normalize_image` still has 2x to antialias from. Plain RGB and greyscale images are
    returned as they are, so ordinary photos resize exactly as before. Resizing RGBA works on
    premultiplied alpha, so compositing over white afterwards gives the same colours.
    """
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        im.info.pop("icc_profile", None)  # a palette's profile was never applied; keep it so
    elif "transparency" in im.info and im.mode not in _ALPHA_MODES:
        im = im.convert("LA" if im.mode == "L" else "RGBA")
    if im.mode in ("RGB", "L"):
        return im
    w, h = im.size
    tw, th = _target_size(w, h)
    if min(w / tw, h / th) <= 2.0:
        return im
    return im.resize((2 * tw, 2 * th), Image.Resampling.BOX, reducing_gap=None)


def normalize_image(img: Image.Image) -> Image.Image:
    """Bring an already-decoded image to the form :func:`load_image` returns (RGB, bounded size).

    Used for the sample gallery, so samples and uploads reach the models in the same shape.

    Args:
        img: any PIL image (any mode, any size within MAX_PIXELS); panoramas more elongated than
            MAX_ASPECT : 1 are centre-cropped to it first.

    Returns:
        A new RGB image with MIN_SIDE <= shorter side and longer side <= MAX_SIDE, aspect at most
        MAX_ASPECT : 1.

    Raises:
        ImageError: the geometry or colour mode cannot be accepted.
    """
    _check_geometry(*img.size)
    box = panorama_crop_box(*img.size)
    if box is not None:
        img = img.crop(box)
    rgb = _to_rgb(_shrink_before_convert(img))
    size = _target_size(*rgb.size)
    if size != rgb.size:
        shrinking = size[0] < rgb.size[0]
        rgb = rgb.resize(
            size,
            Image.Resampling.LANCZOS if shrinking else Image.Resampling.BICUBIC,
            reducing_gap=3.0 if shrinking else None,
        )
    elif rgb is img:
        rgb = rgb.copy()
    return rgb


def _sniff(data: bytes) -> str | None:
    """The accepted format whose file signature ``data`` starts with, if any."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"BM" and len(data) >= 26:
        return "BMP"
    return None


def _open(data: bytes) -> Image.Image:
    """Open (header only) with the accepted plugins; a clear message for everything else."""
    try:
        return Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
    except Image.DecompressionBombError as err:
        raise ImageError(
            f"The image is far too large to decode ({err}). The limit is "
            f"{MAX_PIXELS / 1e6:.0f} megapixels."
        ) from err
    except Exception as err:
        fmt = _sniff(data)
        if fmt:  # the right signature but PIL cannot parse it: a broken file, not a wrong one
            raise ImageError(
                f"The {fmt} file is truncated or corrupt and cannot be decoded ({err}). "
                "Re-export or re-download it and upload it again."
            ) from err
    # Not one of ours: say what it is when PIL knows the format, so the user knows what to convert.
    try:
        with Image.open(io.BytesIO(data)) as other:
            fmt = other.format
    except Exception:
        fmt = None
    if fmt:
        raise ImageError(f"{fmt} images are not supported ({ACCEPTED_TEXT}).")
    raise ImageError(f"This file is not an image ({ACCEPTED_TEXT}).")


# Bytes per pixel of a decoded mode, as the file's samples weigh them (the MAX_DECODED_BYTES bound) ...
_SAMPLE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "La": 2, "PA": 2, "RGB": 3, "YCbCr": 3, "LAB": 3}
_SAMPLE_BYTES.update({"HSV": 3, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2})
# ... and as Pillow stores them (1-byte modes, 16-bit, else 4 bytes: RGB is stored as RGBX).
_STORED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}


def _check_name(name: str | None, fmt: str | None) -> None:
    """Refuse bytes whose format is not the one the file's extension names (e.g. a TIFF as .png).

    The uploader filters by extension only; the decoder to run is chosen by the bytes, so without
    this a ``.png`` upload could reach any accepted decoder.
    """
    if not name or "." not in name:
        return
    ext = name.rsplit(".", 1)[1].lower()
    expected = EXTENSION_FORMATS.get(ext)
    if expected is not None and fmt not in expected:
        raise ImageError(
            f"The file is named .{ext} but holds a {fmt} image. Export it as "
            f"{expected[0]} (or give it its real extension) and upload it again."
        )


def _check_decoded_bytes(width: int, height: int, mode: str) -> int:
    """Refuse a decode larger than MAX_DECODED_BYTES; return its size in bytes."""
    per_pixel = _SAMPLE_BYTES.get(mode, 4)
    nbytes = width * height * per_pixel
    if nbytes > MAX_DECODED_BYTES:
        raise ImageError(
            f"The image is {width}×{height} pixels of {per_pixel} bytes each ({mode}), "
            f"{_mb(nbytes)} decoded; the limit is {_mb(MAX_DECODED_BYTES)} "
            f"({MAX_PIXELS / 1e6:.0f} megapixels of 8-bit RGB). Downscale it or save it with "
            "8 bits per channel and upload it again."
        )
    return nbytes


def _jpeg_coefficient_bytes(im: Image.Image) -> int:
    """Bytes of libjpeg's full-size coefficient buffer (64 two-byte coefficients per 8×8 block per
    component), which a progressive or multi-scan JPEG keeps whatever the DCT scaling."""
    w, h = im.size
    layers = getattr(im, "layer", None) or [("", 1, 1, 0)] * len(im.getbands())
    hmax = max(layer[1] for layer in layers) or 1
    vmax = max(layer[2] for layer in layers) or 1
    blocks = sum(
        -(-w * layer[1] // (8 * hmax)) * -(-h * layer[2] // (8 * vmax)) for layer in layers
    )
    return blocks * 128


def _decode_estimate(width: int, height: int, mode: str, buffered: int) -> int:
    """Peak bytes one decode may hold: the decoded image, an EXIF-rotated copy, the buffered JPEG
    coefficients, the mode conversion (after :func:`_shrink_before_convert`, on at most about
    4 x MAX_SIDE² pixels, ~16 bytes each for float32 work and RGBA compositing) and the result."""
    pixels = width * height
    stored = pixels * _STORED_BYTES.get(mode, 4)
    working = min(pixels, 4 * MAX_SIDE * MAX_SIDE) * (4 if mode in ("RGB", "L") else 16)
    expand = 4 * pixels if mode == "P" else 0
    return buffered + 2 * stored + expand + working + 2 * 4 * MAX_SIDE * MAX_SIDE


def load_image(
    data: bytes, name: str | None = None, on_wait: Callable[[], None] | None = None
) -> Image.Image:
    """Decode an uploaded file into an upright RGB image of bounded size.

    Args:
        data: the file's bytes (``bytes``/``bytearray``/``memoryview``, or an object with
            ``getvalue()`` such as Streamlit's ``UploadedFile``).
        name: the file's name, when known; its extension must match the format in the bytes.
        on_wait: called once if the decode has to wait for :data:`DECODE_BUDGET` (other sessions
            are decoding), so the page can say so.

    Returns:
        An RGB ``PIL.Image`` with longest side <= MAX_SIDE and shorter side >= MIN_SIDE, EXIF
        orientation applied. ``img.info`` carries ``source_format`` and ``source_size`` (the file's
        own format and pixel size, before orientation and resizing) for captions, and for panoramas
        ``crop_box`` / ``cropped_from`` (the centre part kept, in the decoded upright pixels).

    Raises:
        ImageError: empty, too large (file, pixels or decoded bytes), too many JPEG scans, not an
            image, unsupported format, content not matching the name, truncated or corrupt,
            decompression bomb, unconvertible colour mode. The message says what was wrong and
            what is accepted.
        TypeError: ``data`` is not bytes-like (a programming error, not a user error).
    """
    data = _as_bytes(data)
    if not data:
        raise ImageError(f"The file is empty (0 bytes). Upload an image: {ACCEPTED_TEXT}.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageError(
            f"The file is {_mb(len(data))}; the limit is {_mb(MAX_UPLOAD_BYTES)}. "
            "Downscale or compress the image and upload it again."
        )
    im = _open(data)
    estimate = 0
    try:
        fmt, source_size = im.format, im.size
        _check_name(name, fmt)
        is_jpeg = fmt in ("JPEG", "MPO")
        buffered = 0
        if is_jpeg:
            scans, segments = jpeg_markers(data, MAX_JPEG_SCANS, MAX_JPEG_SEGMENTS)
            if segments > MAX_JPEG_SEGMENTS:
                raise ImageError(
                    f"The JPEG has more than {MAX_JPEG_SEGMENTS} marker segments; photos have a "
                    "few dozen. Re-save it as an ordinary JPEG or PNG and upload it again."
                )
            if scans > MAX_JPEG_SCANS:
                raise ImageError(
                    f"The JPEG has more than {MAX_JPEG_SCANS} scans (progressive passes); "
                    "photos have at most a few dozen, so it is refused before decoding. "
                    "Re-save it as an ordinary JPEG or PNG and upload it again."
                )
            if scans > 1 or im.info.get("progressive"):
                buffered = _jpeg_coefficient_bytes(im)
        _check_geometry(*source_size, pixels_too=not is_jpeg or buffered > 0)
        if buffered > MAX_DECODED_BYTES:
            raise ImageError(
                f"The progressive JPEG is {source_size[0]}×{source_size[1]} pixels and needs "
                f"{_mb(buffered)} to decode; the limit is {_mb(MAX_DECODED_BYTES)}. Downscale "
                "it or save it as a baseline (non-progressive) JPEG and upload it again."
            )
        if is_jpeg:
            # Decode at the smallest DCT scale that still covers the final size: cheap, and the
            # pixel bound then applies to what is really decoded (a 100 MP camera JPEG loads at 1/4).
            box = panorama_crop_box(*source_size)
            kept = (box[2] - box[0], box[3] - box[1]) if box else source_size
            target = _target_size(*source_size)
            if target[0] < kept[0]:
                f = target[0] / kept[0]
                im.draft(
                    None, (max(1, round(source_size[0] * f)), max(1, round(source_size[1] * f)))
                )
            _check_geometry(*im.size)
        _check_decoded_bytes(*im.size, im.mode)
        estimate = _decode_estimate(*im.size, im.mode, buffered)
        with DECODE_BUDGET.hold(estimate, on_wait):
            try:
                im.load()
            except MemoryError as err:
                raise ImageError(
                    f"The image ({source_size[0]}×{source_size[1]}) is too large to decode here."
                ) from err
            except Exception as err:
                raise ImageError(
                    f"The {fmt or 'image'} file is truncated or corrupt and cannot be decoded "
                    f"({err}). Re-export or re-download it and upload it again."
                ) from err
            try:  # in place: a full-size copy of every upload cost as much as the decode
                ImageOps.exif_transpose(im, in_place=True)
            except Exception:  # unreadable EXIF: keep the pixels as stored rather than refuse
                pass
            crop_box = panorama_crop_box(*im.size)
            upright_size = im.size
            out = normalize_image(im)
            im.close()  # free the full-size decode before the budget is handed back
    except ImageError:
        raise
    except Exception as err:  # anything PIL throws past the checks above is still the file's fault
        raise ImageError(
            f"The image could not be decoded ({type(err).__name__}: {err}). {ACCEPTED_TEXT}."
        ) from err
    finally:
        im.close()
        if estimate >= _TRIM_AFTER_BYTES:
            _return_memory()
    out.info = {"source_format": fmt, "source_size": source_size}
    if crop_box is not None:
        # in the (upright, decoded) pixels: what was kept of the panorama
        out.info["crop_box"] = crop_box
        out.info["cropped_from"] = upright_size
    return out


def describe_image(img: Image.Image) -> str:
    """One-line caption, e.g. ``"JPEG 8000×6000 → 2048×1536 RGB"`` or ``"451×300 RGB"``.

    Args:
        img: an image, typically from :func:`load_image` (uses its ``source_*`` info when present).

    Returns:
        The format and original size when known, and the size and mode the models will see.
    """
    w, h = img.size
    fmt = img.info.get("source_format")
    src = img.info.get("source_size")
    now = f"{w}×{h} {img.mode}"
    box = img.info.get("crop_box")
    if box:
        now = f"centre {box[2] - box[0]}×{box[3] - box[1]} → {now}"
    if src and tuple(src) not in ((w, h), (h, w)):
        return f"{fmt + ' ' if fmt else ''}{src[0]}×{src[1]} → {now}"
    return f"{fmt + ' ' if fmt else ''}{now}"


__all__ = [
    "ACCEPTED_FORMATS",
    "DECODE_BUDGET",
    "MAX_DECODED_BYTES",
    "MAX_JPEG_SCANS",
    "MAX_JPEG_SEGMENTS",
    "MAX_ASPECT",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MAX_UPLOAD_BYTES",
    "MIN_SIDE",
    "ImageError",
    "DecodeBudget",
    "describe_image",
    "image_hash",
    "jpeg_markers",
    "jpeg_scan_count",
    "load_image",
    "model_view_box",
    "normalize_image",
    "panorama_crop_box",
]
