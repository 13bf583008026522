"""Capture the attention that modules declare during one forward pass.

Modules call :func:`emit` inside ``forward``. :func:`capture` opens a recorder held in a
:class:`contextvars.ContextVar`, so several Streamlit sessions (one thread each) running the same
cached model at the same time never see each other's tensors. When nothing captures, ``emit`` is a
single ContextVar lookup.

Modules from timm and torchvision do not call ``emit``; :mod:`viz.capture.adapters` gives them
forward hooks that compute the same named tensors from the module's own layers and emit them.
"""

from __future__ import annotations

import contextvars
import weakref
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

__all__ = ["Attention", "Record", "emit", "is_capturing"]


# Tensors emitted without a batch dimension: a Non-local block's ``keys_shape`` is the (H', W') key
# grid, one per block, not one per image.
UNBATCHED = frozenset({"keys_shape"})


@dataclass
class Record:
    """What one attention module declared in one forward pass (the one record type).

    A capture yields records of torch tensors (detached, on CPU); :meth:`numpy` turns one into
    the same record of numpy arrays with the batch dimension removed, which is what the analysis,
    the figures and the pages read.

    Args:
        kind: one of ``viz.attention.ATTENTION_KINDS``.
        tensors: named tensors; the names of each kind are the ones its mechanism file
            (``viz/attention/<kind>.py``) emits, tabulated in docs/ARCHITECTURE.md.
        module_type: class name of the module that emitted, e.g. ``"SEModule"``.
    """

    kind: str
    tensors: dict = field(default_factory=dict)
    module_type: str = ""

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape, for explainers and captions."""
        return {k: tuple(v.shape) for k, v in self.tensors.items()}

    def numpy(self, index: int = 0) -> Record:
        """This record as float32 numpy arrays of batch item ``index`` (``keys_shape`` kept whole)."""
        return Record(
            kind=self.kind,
            tensors={k: _to_numpy(k, v, index) for k, v in self.tensors.items()},
            module_type=self.module_type,
        )


Attention = Record  # the first-round name


def _to_numpy(name: str, tensor, index: int) -> np.ndarray:
    arr = tensor.detach().cpu().numpy() if hasattr(tensor, "detach") else np.asarray(tensor)
    if name in UNBATCHED:
        return arr.astype(np.int64) if np.issubdtype(arr.dtype, np.integer) else arr
    return np.ascontiguousarray(arr[index], dtype=np.float32)


class _Recorder:
    def __init__(self, model: nn.Module):
        self.model = model
        self.paths = _module_paths(model)
        self.records: dict[str, Record] = {}

    def add(self, module: nn.Module, kind: str, tensors: dict[str, torch.Tensor]) -> None:
        path = self.paths.get(id(module))
        if path is None:  # a module added after the first capture: walk the model again
            self.paths = _module_paths(self.model, refresh=True)
            path = self.paths.get(id(module), f"<unregistered {type(module).__name__}>")
        key, n = path, 1
        while key in self.records:  # a module run twice in one forward keeps both records
            n += 1
            key = f"{path}@{n}"
        self.records[key] = Record(
            kind=kind,
            tensors={k: _to_cpu(v) for k, v in tensors.items()},
            module_type=type(module).__name__,
        )


_RECORDER: contextvars.ContextVar[_Recorder | None] = contextvars.ContextVar(
    "viz_attention_recorder", default=None
)
_PATH_CACHE: weakref.WeakKeyDictionary[nn.Module, dict[int, str]] = weakref.WeakKeyDictionary()


def _module_paths(model: nn.Module, refresh: bool = False) -> dict[int, str]:
    """Map id(module) -> dotted path, computed once per model (a walk costs ~ms on big models)."""
    paths = None if refresh else _PATH_CACHE.get(model)
    if paths is None:
        paths = {id(m): (name or type(model).__name__) for name, m in model.named_modules()}
        _PATH_CACHE[model] = paths
    return paths


def _to_cpu(value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    return torch.as_tensor(value)


def is_capturing() -> bool:
    """True inside ``with capture(...)`` in the current thread/context."""
    return _RECORDER.get() is not None


def emit(module: nn.Module, kind: str | None = None, **tensors) -> None:
    """Declare ``module``'s attention tensors; a no-op unless a capture is open.

    Args:
        module: the emitting module (its path in the captured model becomes the record key).
        kind: attention kind; defaults to ``module.attention_kind``.
        **tensors: named tensors (the names of the kind, see :class:`Record`).
    """
    recorder = _RECORDER.get()
    if recorder is None:
        return
    recorder.add(module, kind or module.attention_kind, tensors)
