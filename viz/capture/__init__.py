"""The capture layer: one record type, ``capture()`` and ``emit()``, adapters for foreign layers.

The lowest layer of :mod:`viz`: it imports nothing else from the project.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn

from viz.capture.adapters import install as install_adapters
from viz.capture.adapters import remove as remove_adapters
from viz.capture.recorder import (
    _PATH_CACHE,
    _RECORDER,
    UNBATCHED,
    Attention,
    Record,
    _Recorder,
    emit,
    is_capturing,
)

__all__ = [
    "UNBATCHED",
    "Attention",
    "Record",
    "capture",
    "emit",
    "install_adapters",
    "is_capturing",
    "remove_adapters",
]


@contextlib.contextmanager
def capture(model: nn.Module) -> Iterator[dict[str, Record]]:
    """Record every attention declared while running ``model`` in this context.

    Example:
        >>> with capture(model) as records:
        ...     logits = model(x)
        >>> records["layer3.0.se"].tensors["channel"].shape  # (B, C)

    Yields:
        dict mapping module path -> :class:`Record`, filled as the forward pass runs.
    """
    if model not in _PATH_CACHE:  # first capture of this model: hook its foreign layers once
        install_adapters(model)
    recorder = _Recorder(model)
    token = _RECORDER.set(recorder)
    try:
        yield recorder.records
    finally:
        _RECORDER.reset(token)
