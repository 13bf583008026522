"""The sample gallery: photos that ship inside installed wheels, plus held-out zoo scenes.

Everything here works offline. The photos are plain files inside the scikit-image, scikit-learn and
matplotlib packages (only the ones that ship in the wheel; scikit-image's pooch-downloaded images are
left out). Their locations are found with ``importlib.util.find_spec``, which does not import the
package, so :func:`list_samples` is cheap (importing ``sklearn.datasets`` alone costs seconds).

Samples go through the same :func:`viz.data.load_image` as uploads, and :func:`sample_bytes` gives
the bytes to hash, so a page treats a sample exactly like an uploaded file (same cache key scheme).
"""

from __future__ import annotations

import importlib.util
import io
from functools import lru_cache
from pathlib import Path

from PIL import Image

from viz.data import scenes
from viz.data.uploads import load_image

N_SCENES = 6  # held-out real-object scenes offered in the gallery (when the packages are installed)

# name -> (package, path inside the package, caption). Captions carry the credit the package gives.
_FILES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "skimage/chelsea": (
        "skimage",
        ("data", "chelsea.png"),
        "Chelsea the cat (scikit-image; CC0, Stefan van der Walt)",
    ),
    "skimage/coffee": (
        "skimage",
        ("data", "coffee.png"),
        "A cup of coffee (scikit-image; CC0, Rachel Michetti)",
    ),
    "skimage/astronaut": (
        "skimage",
        ("data", "astronaut.png"),
        "Astronaut Eileen Collins (scikit-image; NASA, no known copyright restrictions)",
    ),
    "skimage/rocket": (
        "skimage",
        ("data", "rocket.jpg"),
        "Falcon 9 launch carrying DSCOVR (scikit-image; SpaceX, public domain)",
    ),
    "skimage/motorcycle": (
        "skimage",
        ("data", "motorcycle_left.png"),
        "A motorcycle, left view of a stereo pair (scikit-image; Middlebury stereo data)",
    ),
    "skimage/camera": (
        "skimage",
        ("data", "camera.png"),
        "Cameraman, greyscale (scikit-image; CC0, Lav Varshney)",
    ),
    "skimage/hubble_deep_field": (
        "skimage",
        ("data", "hubble_deep_field.jpg"),
        "Hubble eXtreme Deep Field (scikit-image; NASA, public domain)",
    ),
    "skimage/immunohistochemistry": (
        "skimage",
        ("data", "ihc.png"),
        "Immunohistochemical staining of colonic glands (scikit-image; CMMI)",
    ),
    "skimage/retina": (
        "skimage",
        ("data", "retina.jpg"),
        "Fundus photograph of a human retina (scikit-image; CC0, Mikael Häggström)",
    ),
    "sklearn/china": (
        "sklearn",
        ("datasets", "images", "china.jpg"),
        "A temple in China (scikit-learn sample image; CC BY 2.0, danielbuechele)",
    ),
    "sklearn/flower": (
        "sklearn",
        ("datasets", "images", "flower.jpg"),
        "A flower (scikit-learn sample image; CC BY 2.0, vultilion)",
    ),
    "matplotlib/grace_hopper": (
        "matplotlib",
        ("mpl-data", "sample_data", "grace_hopper.jpg"),
        "Rear Admiral Grace Hopper (matplotlib sample data)",
    ),
}

_SCENE_PREFIX = "scene/"


def _package_file(package: str, parts: tuple[str, ...]) -> Path | None:
    """Path of a data file inside an installed package, without importing the package."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root).joinpath(*parts)
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=1)
def _scenes_available() -> bool:
    """Whether the zoo's held-out scenes can be rendered (the Debian packages are installed)."""

    return scenes.scenes_available()


@lru_cache(maxsize=1)
def _scenes() -> tuple[tuple[str, bytes], ...]:
    """Render the held-out scenes once, as (title, PNG bytes)."""

    out = []
    for title, image in scenes.sample_scenes(N_SCENES):
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        out.append((title, buf.getvalue()))
    return tuple(out)


def _scene_index(name: str) -> int | None:
    if not name.startswith(_SCENE_PREFIX):
        return None
    rest = name[len(_SCENE_PREFIX) :]
    if not rest.isdigit() or not 0 <= int(rest) < N_SCENES:
        return None
    return int(rest)


def list_samples() -> list[str]:
    """Names of the samples available on this machine, photos first, then scenes.

    Cheap: checks that files exist, decodes nothing, imports none of the source packages.

    Returns:
        Names like ``"skimage/chelsea"``, ``"sklearn/china"``, ``"matplotlib/grace_hopper"``,
        ``"scene/0"``.
    """
    names = [name for name, (pkg, parts, _) in _FILES.items() if _package_file(pkg, parts)]
    if _scenes_available():
        names += [f"{_SCENE_PREFIX}{i}" for i in range(N_SCENES)]
    return names


def _unknown(name: str) -> ValueError:
    return ValueError(f"Unknown sample {name!r}; available: {', '.join(list_samples())}")


def sample_bytes(name: str) -> bytes:
    """The file bytes of a sample (PNG for scenes): feed them to ``load_image`` / ``image_hash``.

    Args:
        name: one of :func:`list_samples`.

    Raises:
        ValueError: unknown or unavailable sample.
    """
    if name in _FILES:
        pkg, parts, _ = _FILES[name]
        path = _package_file(pkg, parts)
        if path is None:
            raise ValueError(
                f"Sample {name!r} is not installed on this machine ({pkg} is missing)."
            )
        return path.read_bytes()
    index = _scene_index(name)
    if index is None:
        raise _unknown(name)
    if not _scenes_available():
        raise ValueError(
            f"Sample {name!r} needs the Debian packages of the zoo's scenes "
            "(tuxpaint-stamps-default and wallpapers), which are not installed."
        )
    return _scenes()[index][1]


@lru_cache(maxsize=32)
def _decoded(name: str) -> Image.Image:
    return load_image(sample_bytes(name))


def load_sample(name: str) -> Image.Image:
    """Decode a sample exactly as an upload would be (RGB, upright, bounded size).

    Args:
        name: one of :func:`list_samples`.

    Returns:
        A fresh RGB ``PIL.Image`` (a copy; callers may modify it).

    Raises:
        ValueError: unknown or unavailable sample.
    """
    img = _decoded(name)
    out = img.copy()
    out.info = dict(img.info)
    return out


def sample_caption(name: str) -> str:
    """A one-line caption with the image's subject and source/credit.

    Args:
        name: one of :func:`list_samples`.

    Raises:
        ValueError: unknown sample.
    """
    if name in _FILES:
        return _FILES[name][2]
    index = _scene_index(name)
    if index is None:
        raise _unknown(name)
    title = _scenes()[index][0] if _scenes_available() else f"scene {index}"
    objects = title.split(":", 1)[1].strip() if ":" in title else title
    return (
        f"Held-out real-object scene {index}: {objects} "
        "(held-out stamps and backgrounds, never used in training)"
    )


__all__ = ["N_SCENES", "list_samples", "load_sample", "sample_bytes", "sample_caption"]
