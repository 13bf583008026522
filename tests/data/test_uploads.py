"""viz.data.uploads: every kind of upload gives an upright RGB image or an ImageError with a clear
message."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from viz.data import uploads as images
from viz.data.uploads import (
    MAX_ASPECT,
    MAX_PIXELS,
    MAX_SIDE,
    MAX_UPLOAD_BYTES,
    MIN_SIDE,
    describe_image,
    image_hash,
    load_image,
)
from viz.errors import ImageError

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def quadrants(w: int = 64, h: int = 48) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, white bottom-right."""
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2, : w // 2] = RED
    a[: h // 2, w // 2 :] = GREEN
    a[h // 2 :, : w // 2] = BLUE
    a[h // 2 :, w // 2 :] = WHITE
    return Image.fromarray(a)


def close(pixel, colour, tol: int = 30) -> bool:
    return all(abs(int(p) - int(c)) <= tol for p, c in zip(pixel, colour))


def assert_quadrants(img: Image.Image, tol: int = 30) -> None:
    w, h = img.size
    assert close(img.getpixel((w // 4, h // 4)), RED, tol)
    assert close(img.getpixel((3 * w // 4, h // 4)), GREEN, tol)
    assert close(img.getpixel((w // 4, 3 * h // 4)), BLUE, tol)
    assert close(img.getpixel((3 * w // 4, 3 * h // 4)), WHITE, tol)


def refused(data, *words: str) -> str:
    """load_image must raise ImageError (not any other exception) whose message has every word."""
    with pytest.raises(ImageError) as info:
        load_image(data)
    msg = str(info.value)
    for word in words:
        assert word.lower() in msg.lower(), (word, msg)
    return msg


def png_with_header_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose IHDR is rewritten to claim width x height (CRC fixed)."""
    data = bytearray(encode(Image.new("L", (8, 8), 0), "PNG"))
    assert data[12:16] == b"IHDR"
    body = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    return bytes(data)


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "fmt,kw",
    [
        ("PNG", {}),
        ("JPEG", {"quality": 95}),
        ("WEBP", {"quality": 95}),
        ("BMP", {}),
        ("GIF", {}),
        ("TIFF", {}),
        ("TIFF", {"compression": "tiff_lzw"}),
    ],
)
def test_accepted_formats_decode_to_rgb_with_right_colours(fmt, kw):
    img = load_image(encode(quadrants(), fmt, **kw))
    assert img.mode == "RGB"
    assert img.size == (64, 48)
    assert_quadrants(img)
    assert img.info["source_format"] == fmt
    assert img.info["source_size"] == (64, 48)


def test_lossless_png_is_exact():
    src = quadrants()
    assert np.array_equal(np.asarray(load_image(encode(src, "PNG"))), np.asarray(src))


def test_accepts_bytearray_memoryview_and_uploaded_file_like():
    data = encode(quadrants(), "PNG")

    class Upload:  # the part of streamlit's UploadedFile that matters
        def getvalue(self):
            return data

    for obj in (bytearray(data), memoryview(data), Upload()):
        assert load_image(obj).size == (64, 48)
    with pytest.raises(TypeError):
        load_image("not bytes")  # a programming error, not a user error


# ----------------------------------------------------------------------------- not images


def test_zero_bytes():
    refused(b"", "empty", "PNG", "JPEG")


def test_file_over_upload_limit():
    refused(bytes(MAX_UPLOAD_BYTES + 1), "limit", "50.0 MB")


def test_text_file_named_jpg():
    msg = refused(b"Dear user, this is a letter, not a picture.\n" * 20, "not an image")
    for fmt in ("PNG", "JPEG", "WebP", "BMP", "GIF", "TIFF"):
        assert fmt in msg


def test_known_but_unaccepted_format_is_named():
    refused(encode(quadrants(), "PPM"), "PPM", "not supported", "PNG")


def test_random_bytes():
    rng = np.random.default_rng(0)
    refused(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(), "not an image")


# ----------------------------------------------------------------------------- broken files


def noisy(w: int = 128, h: int = 96) -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "TIFF", "BMP"])
def test_truncated_file_is_refused_not_half_returned(fmt):
    assert not ImageFile.LOAD_TRUNCATED_IMAGES  # the global switch that would hide truncation
    data = encode(noisy(), fmt)
    refused(data[: len(data) // 2], "truncated or corrupt")


def test_png_with_corrupted_pixel_data():
    data = bytearray(encode(noisy(), "PNG"))
    start = data.index(b"IDAT") + 50
    data[start : start + 200] = bytes(200)
    refused(bytes(data), "corrupt")


def test_random_mutations_never_raise_anything_but_image_error():
    """Fuzz: flipped bytes in valid files give an RGB image or an ImageError, nothing else."""
    rng = np.random.default_rng(2)
    sources = [encode(noisy(40, 30), f) for f in ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")]
    outcomes = {"ok": 0, "refused": 0}
    for i in range(120):
        data = bytearray(sources[i % len(sources)])
        for pos in rng.integers(0, len(data), size=int(rng.integers(1, 8))):
            data[pos] = int(rng.integers(0, 256))
        if rng.random() < 0.3:
            data = data[: int(rng.integers(1, len(data)))]
        try:
            img = load_image(bytes(data))
        except ImageError as err:
            assert str(err)
            outcomes["refused"] += 1
        else:
            assert img.mode == "RGB" and min(img.size) >= MIN_SIDE
            outcomes["ok"] += 1
    assert outcomes["refused"] > 0


# ----------------------------------------------------------------------------- bombs


def test_header_claiming_gigapixels_is_refused_before_decoding():
    refused(png_with_header_size(100_000, 100_000), "too large", "megapixels")


def test_header_between_our_limit_and_pils_is_refused_by_ours():
    # 8000 x 8000 = 64 MP: above MAX_PIXELS (50 MP), below PIL's own warning threshold (~89 MP).
    refused(png_with_header_size(8000, 8000), "8000×8000", "64 megapixels", "limit")


def test_header_in_pils_warning_band_is_refused():
    # 10000 x 10000 = 100 MP: PIL only warns here; load_image must still refuse.
    with pytest.warns(Image.DecompressionBombWarning):
        refused(png_with_header_size(10_000, 10_000), "100 megapixels")


def test_real_decompression_bomb_png_is_refused():
    side = int(np.ceil(np.sqrt(MAX_PIXELS))) + 8  # 1-bit solid PNG: ~50 MP that compresses tiny
    data = encode(Image.new("1", (side, side), 1), "PNG")
    assert len(data) < 100_000
    refused(data, "megapixels")


def test_global_pil_limit_untouched():
    before = Image.MAX_IMAGE_PIXELS
    for data in (png_with_header_size(8000, 8000), encode(quadrants(), "PNG")):
        try:
            load_image(data)
        except ImageError:
            pass
    assert Image.MAX_IMAGE_PIXELS == before


def test_good_upload_after_bad_ones_works():
    for bad in (b"", b"nonsense", png_with_header_size(8000, 8000), encode(noisy(), "PNG")[:300]):
        with pytest.raises(ImageError):
            load_image(bad)
    assert_quadrants(load_image(encode(quadrants(), "PNG")), tol=0)


# ----------------------------------------------------------------------------- colour modes


def test_cmyk_jpeg_converted_to_right_rgb():
    a = np.zeros((32, 64, 4), np.uint8)
    a[:, :32] = (0, 255, 255, 0)  # pure red in CMYK
    a[:, 32:] = (255, 0, 0, 0)  # cyan
    src = Image.fromarray(a, mode="CMYK")
    data = encode(src, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    img = load_image(data)
    assert img.mode == "RGB"
    assert close(img.getpixel((10, 16)), RED)
    assert close(img.getpixel((50, 16)), (0, 255, 255))


def test_16bit_png_is_scaled_not_clipped():
    a = np.zeros((40, 60), np.uint16)
    a[:, :20] = 0
    a[:, 20:40] = 40000
    a[:, 40:] = 65535
    data = encode(Image.fromarray(a), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    img = load_image(data)
    assert img.mode == "RGB"
    assert img.getpixel((10, 20)) == (0, 0, 0)
    assert img.getpixel((30, 20)) == (156, 156, 156)  # 40000 / 257 = 155.6, not clipped to 255
    assert img.getpixel((50, 20)) == (255, 255, 255)


def test_float_tiff_in_unit_range_is_scaled():
    a = np.tile(np.linspace(0.0, 1.0, 64, dtype=np.float32), (40, 1))
    img = load_image(encode(Image.fromarray(a, mode="F"), "TIFF"))
    assert img.getpixel((0, 0)) == (0, 0, 0)
    assert img.getpixel((63, 0)) == (255, 255, 255)
    assert 100 < img.getpixel((32, 0))[0] < 155


def test_one_bit_and_greyscale():
    src = Image.new("1", (40, 40), 0)
    src.paste(1, (20, 0, 40, 40))
    img = load_image(encode(src, "PNG"))
    assert img.getpixel((5, 5)) == (0, 0, 0) and img.getpixel((35, 5)) == WHITE
    assert load_image(encode(Image.new("L", (40, 40), 77), "PNG")).getpixel((3, 3)) == (77,) * 3


def test_palette_with_transparency_is_composited_over_white():
    src = Image.new("P", (40, 40), 0)
    src.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)  # index 0 red (transparent), 1 blue
    src.paste(1, (20, 0, 40, 40))
    for fmt in ("PNG", "GIF"):
        img = load_image(encode(src, fmt, transparency=0))
        assert img.mode == "RGB"
        assert img.getpixel((5, 5)) == WHITE, fmt  # transparent red -> white, not red or black
        assert img.getpixel((35, 5)) == BLUE, fmt


def test_rgba_and_la_are_composited_over_white():
    rgba = Image.new("RGBA", (40, 40), (255, 0, 0, 128))
    rgba.paste((0, 0, 0, 0), (20, 0, 40, 40))
    img = load_image(encode(rgba, "PNG"))
    assert close(img.getpixel((5, 5)), (255, 127, 127), 2)  # half red over white
    assert img.getpixel((35, 5)) == WHITE  # fully transparent black -> white
    la = Image.new("LA", (40, 40), (0, 0))
    la.paste((0, 255), (20, 0, 40, 40))
    img = load_image(encode(la, "PNG"))
    assert img.getpixel((5, 5)) == WHITE and img.getpixel((35, 5)) == (0, 0, 0)
    webp = load_image(encode(rgba, "WEBP", lossless=True))
    assert webp.getpixel((35, 5)) == WHITE


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (40, 40), c) for c in (RED, GREEN, BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    img = load_image(data)
    assert img.getpixel((20, 20)) == RED


def test_multipage_tiff_gives_first_page():
    pages = [Image.new("RGB", (40, 40), c) for c in (GREEN, RED)]
    data = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    assert load_image(data).getpixel((20, 20)) == GREEN


def test_srgb_icc_profile_keeps_colours():
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img = load_image(encode(quadrants(), "PNG", icc_profile=icc))
    assert_quadrants(img, tol=3)


def test_broken_icc_profile_falls_back():
    img = load_image(encode(quadrants(), "PNG", icc_profile=b"not a profile" * 10))
    assert_quadrants(img, tol=0)


# ----------------------------------------------------------------------------- orientation


def marked_jpeg(orientation: int) -> bytes:
    """60x40 stored pixels, grey with a red block at the stored top-left corner."""
    src = Image.new("RGB", (60, 40), (128, 128, 128))
    src.paste(RED, (0, 0, 15, 15))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(src, "JPEG", quality=95, exif=exif.tobytes())


@pytest.mark.parametrize(
    "orientation,size,corner",
    [
        (1, (60, 40), "top-left"),
        (3, (60, 40), "bottom-right"),  # rotate 180
        (6, (40, 60), "top-right"),  # display = stored rotated 90 degrees clockwise
        (8, (40, 60), "bottom-left"),  # display = stored rotated 90 degrees counter-clockwise
    ],
)
def test_exif_orientation_comes_out_upright(orientation, size, corner):
    img = load_image(marked_jpeg(orientation))
    assert img.size == size
    w, h = size
    where = {
        "top-left": (5, 5),
        "top-right": (w - 6, 5),
        "bottom-left": (5, h - 6),
        "bottom-right": (w - 6, h - 6),
    }
    for name, xy in where.items():
        is_red = close(img.getpixel(xy), RED, 40)
        assert is_red == (name == corner), (name, img.getpixel(xy))


# ----------------------------------------------------------------------------- geometry


def test_one_pixel_is_upscaled_to_min_side():
    img = load_image(encode(Image.new("RGB", (1, 1), (10, 200, 30)), "PNG"))
    assert img.size == (MIN_SIDE, MIN_SIDE)
    assert img.getpixel((MIN_SIDE // 2, MIN_SIDE // 2)) == (10, 200, 30)


def test_small_image_upscaled_keeping_aspect():
    img = load_image(encode(Image.new("RGB", (20, 10), BLUE), "PNG"))
    assert img.size == (2 * MIN_SIDE, MIN_SIDE)


def test_panorama_is_accepted_through_the_centre_crop():
    """A 10000×300 panorama (33:1): kept centre part at 10:1, the model's central square inside it."""
    from viz.data.uploads import describe_image, model_view_box, panorama_crop_box

    src = Image.new("RGB", (10_000, 300), RED)
    src.paste(Image.new("RGB", (300, 300), GREEN), (4850, 0))  # the panorama's centre square
    for fmt in ("PNG", "JPEG"):
        img = load_image(encode(src, fmt))
        assert img.info["crop_box"] == (3500, 0, 6500, 300)
        assert img.info["cropped_from"] == (10_000, 300)
        w, h = img.size
        assert w / h == pytest.approx(MAX_ASPECT, rel=0.01) and w <= 2048 and h >= 200
        assert "10000×300 → centre 3000×300" in describe_image(img)
        left, top, right, bottom = model_view_box(w, h)
        centre = np.asarray(img.crop((left + 2, top + 2, right - 2, bottom - 2)), dtype=float)
        assert centre[..., 1].mean() > 200 and centre[..., 0].mean() < 40  # the green square
    tall = load_image(encode(Image.new("RGB", (300, 10_000), BLUE), "PNG"))
    assert tall.size[1] / tall.size[0] == pytest.approx(MAX_ASPECT, rel=0.01)
    assert panorama_crop_box(1000, 100) is None and panorama_crop_box(1001, 100) is not None


def test_strip_at_the_aspect_limit_is_accepted():
    w = int(MAX_ASPECT * 100)
    img = load_image(encode(Image.new("RGB", (w, 100), GREEN), "PNG"))
    assert img.size == (w, 100)


def test_huge_valid_jpeg_is_downscaled_to_max_side():
    src = quadrants(8000, 6000)
    data = encode(src, "JPEG", quality=80)
    img = load_image(data)
    assert img.size == (MAX_SIDE, MAX_SIDE * 3 // 4)
    assert_quadrants(img)
    assert img.info["source_size"] == (8000, 6000)
    assert describe_image(img) == f"JPEG 8000×6000 → {MAX_SIDE}×{MAX_SIDE * 3 // 4} RGB"


def test_large_png_is_downscaled_with_a_smooth_filter():
    a = np.zeros((1000, 4000), np.uint8)
    a[:, ::2] = 255  # 1-pixel stripes: a smoothing filter averages them to mid grey
    img = load_image(encode(Image.fromarray(a), "PNG"))
    assert img.size == (MAX_SIDE, 512)
    assert 110 < np.asarray(img).mean() < 145
    assert np.asarray(img)[100:400, 100:1900].std() < 10


def test_rotated_large_jpeg_downscaled_and_upright():
    src = Image.new("RGB", (4000, 3000), (128, 128, 128))
    src.paste(RED, (0, 0, 800, 800))
    exif = Image.Exif()
    exif[0x0112] = 6
    img = load_image(encode(src, "JPEG", quality=85, exif=exif.tobytes()))
    assert img.size == (MAX_SIDE * 3 // 4, MAX_SIDE)
    assert close(img.getpixel((img.width - 50, 50)), RED, 40)
    assert close(img.getpixel((50, 50)), (128, 128, 128), 40)


# ----------------------------------------------------------------------------- helpers


def test_image_hash():
    a, b = encode(quadrants(), "PNG"), encode(quadrants(), "BMP")
    assert image_hash(a) == image_hash(bytes(a)) and len(image_hash(a)) == 64
    assert image_hash(a) != image_hash(b)
    assert image_hash(a) == hashlib.sha256(a).hexdigest()


def test_describe_image_without_resizing():
    img = load_image(encode(quadrants(), "PNG"))
    assert describe_image(img) == "PNG 64×48 RGB"
    assert describe_image(Image.new("L", (5, 7))) == "5×7 L"


def test_normalize_image_matches_load_image():
    src = Image.new("RGBA", (3000, 1500), (0, 0, 255, 0))
    out = images.normalize_image(src)
    assert out.mode == "RGB" and out.size == (MAX_SIDE, MAX_SIDE // 2)
    assert out.getpixel((10, 10)) == WHITE
    assert src.size == (3000, 1500) and src.mode == "RGBA"  # input untouched


def test_pixel_bound_applies_to_reduced_jpeg_decode(monkeypatch):
    """A JPEG larger than MAX_PIXELS loads when DCT scaling decodes it within the bound; the same
    pixels as PNG (no reduced decode) are refused. Limits shrunk so the test stays small."""
    monkeypatch.setattr(images, "MAX_PIXELS", 1_000_000)
    monkeypatch.setattr(images, "MAX_SIDE", 500)
    src = quadrants(2000, 1500)  # 3 MP
    img = load_image(encode(src, "JPEG", quality=90))
    assert img.size == (500, 375)
    assert_quadrants(img)
    refused(encode(src, "PNG"), "2000×1500", "limit")


def test_jpeg_header_claiming_gigapixels_is_refused():
    data = bytearray(encode(Image.new("L", (8, 8)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65000, 65000)
    refused(bytes(data), "too large", "megapixels")
