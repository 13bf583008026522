"""The data layer: upload validation, the sample images, the real-object scene generator.

Imports nothing from the project but :mod:`viz.errors`.
"""

from __future__ import annotations

from viz.data.samples import (
    N_SCENES,
    list_samples,
    load_sample,
    sample_bytes,
    sample_caption,
)
from viz.data.uploads import (
    ACCEPTED_FORMATS,
    ACCEPTED_TEXT,
    MAX_ASPECT,
    MAX_PIXELS,
    MAX_SIDE,
    MAX_UPLOAD_BYTES,
    MIN_SIDE,
    describe_image,
    image_hash,
    load_image,
    model_view_box,
    normalize_image,
    panorama_crop_box,
)

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MIN_SIDE",
    "MAX_ASPECT",
    "ACCEPTED_FORMATS",
    "ACCEPTED_TEXT",
    "image_hash",
    "panorama_crop_box",
    "model_view_box",
    "normalize_image",
    "load_image",
    "describe_image",
    "N_SCENES",
    "list_samples",
    "sample_bytes",
    "load_sample",
    "sample_caption",
]
