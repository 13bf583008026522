"""Decoding and validating uploaded images.

Everything a user uploads passes through :func:`load_image` before it reaches a model, so this is the
one place that turns arbitrary bytes into a well-behaved RGB picture or a sentence the page can show.

Rules (the README "Limits" paragraph mirrors these):

* Accepted formats: PNG, JPEG, WebP, BMP, GIF (first frame), TIFF (first page). Anything else, and
  anything that is not an image at all, is refused with :class:`ImageError`.
* At most :data:`MAX_UPLOAD_BYTES` of file and :data:`MAX_PIXELS` of *decoded* pixels. The pixel count
  is read from the header, before any pixel data is decoded, so a decompression bomb costs nothing.
  JPEGs are decoded at a reduced DCT scale (1/2, 1/4, 1/8) when they are larger than needed, and the
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

PIL's global ``Image.MAX_IMAGE_PIXELS`` is left untouched: the bound is checked per call here.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from viz.errors import ImageError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # matches .streamlit/config.toml maxUploadSize = 50 (MB)
MAX_PIXELS = 50_000_000  # decoded pixels (width x height) before any downscaling
MAX_SIDE = 2048  # longest side of a returned image; larger valid images are downscaled (Lanczos)
MIN_SIDE = 32  # shorter side of a returned image; smaller images are upscaled (bicubic)
MAX_ASPECT = 10.0  # longest / shortest side kept; more elongated images are centre-cropped to it

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
ACCEPTED_TEXT = "PNG, JPEG, WebP, BMP, GIF, TIFF are accepted"

_WHITE = (255, 255, 255)


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
    data when their values fit one of those, and min-max stretched otherwise.
    """
    a = np.asarray(im)
    if im.mode.startswith("I;16"):
        scaled = a.astype(np.float64) / 257.0
    else:
        a = a.astype(np.float64)
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        if im.mode == "F" and lo >= 0.0 and hi <= 1.0:
            scaled = a * 255.0
        elif lo >= 0.0 and hi <= 255.0:
            scaled = a
        elif lo >= 0.0 and hi <= 65535.0:
            scaled = a / 257.0
        else:
            scaled = (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)
        scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


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
    rgb = _to_rgb(img)
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


def load_image(data: bytes) -> Image.Image:
    """Decode an uploaded file into an upright RGB image of bounded size.

    Args:
        data: the file's bytes (``bytes``/``bytearray``/``memoryview``, or an object with
            ``getvalue()`` such as Streamlit's ``UploadedFile``).

    Returns:
        An RGB ``PIL.Image`` with longest side <= MAX_SIDE and shorter side >= MIN_SIDE, EXIF
        orientation applied. ``img.info`` carries ``source_format`` and ``source_size`` (the file's
        own format and pixel size, before orientation and resizing) for captions, and for panoramas
        ``crop_box`` / ``cropped_from`` (the centre part kept, in the decoded upright pixels).

    Raises:
        ImageError: empty, too large, not an image, unsupported format, truncated or corrupt,
            decompression bomb, unconvertible colour mode. The message says what was
            wrong and what is accepted.
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
    try:
        fmt, source_size = im.format, im.size
        is_jpeg = fmt in ("JPEG", "MPO")
        _check_geometry(*source_size, pixels_too=not is_jpeg)
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
        try:
            upright = ImageOps.exif_transpose(im)
        except Exception:  # unreadable EXIF: keep the pixels as stored rather than refuse the photo
            upright = im
        if upright is None:
            upright = im
        crop_box = panorama_crop_box(*upright.size)
        upright_size = upright.size
        out = normalize_image(upright)
    except ImageError:
        raise
    except Exception as err:  # anything PIL throws past the checks above is still the file's fault
        raise ImageError(
            f"The image could not be decoded ({type(err).__name__}: {err}). {ACCEPTED_TEXT}."
        ) from err
    finally:
        im.close()
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
    "MAX_ASPECT",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MAX_UPLOAD_BYTES",
    "MIN_SIDE",
    "ImageError",
    "describe_image",
    "image_hash",
    "load_image",
    "model_view_box",
    "normalize_image",
    "panorama_crop_box",
]
