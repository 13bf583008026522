"""The project's one error family: :class:`VizError` and a few precise subclasses.

Each subclass also derives from the builtin a caller would naturally catch (``ValueError`` for a
file that cannot be accepted, ``RuntimeError`` for weights that cannot be had), so code written
against the builtins keeps working. The message of each is written for a person.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ImageError",
    "ModelUnavailable",
    "SceneDataMissing",
    "UsageError",
    "VizError",
    "WeightsUnavailable",
]


class VizError(Exception):
    """Base of every error this project raises on purpose."""


class ImageError(VizError, ValueError):
    """An upload cannot be accepted; ``str(err)`` says why, for the user."""


class WeightsUnavailable(VizError, RuntimeError):
    """Weights for a backbone cannot be loaded here; the message says what to fetch and how."""


class CheckpointError(VizError, RuntimeError):
    """A checkpoint file is unusable (unreadable, wrong tensors, sha256 mismatch)."""


class ModelUnavailable(VizError, RuntimeError):
    """A backbone cannot be used by a page; ``str(err)`` says why and what to fetch."""


class SceneDataMissing(VizError, FileNotFoundError):
    """The Debian packages the scene generator draws from are not installed (names them)."""


class UsageError(VizError):
    """A command-line call that cannot be carried out (bad folder, unknown backbone, ...)."""
