"""Capture the attention that modules declare during one forward pass.

Modules call :func:`emit` inside ``forward``. :func:`capture` opens a recorder held in a
:class:`contextvars.ContextVar`, so several Streamlit sessions (one thread each) running the same
cached model at the same time never see each other's tensors. When nothing captures, ``emit`` is a
single ContextVar lookup.

Modules from timm and torchvision do not call ``emit``; :func:`install_adapters` gives them forward
hooks that compute the same named tensors from the module's own layers and emit them.
"""

from __future__ import annotations

import contextlib
import contextvars
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["Attention", "capture", "emit", "is_capturing", "install_adapters"]


@dataclass
class Attention:
    """What one attention module declared in one forward pass.

    Args:
        kind: one of ``viz.attention.ATTENTION_KINDS``.
        tensors: named tensors (detached, on CPU); names per DESIGN.md's table.
        module_type: class name of the module that emitted, e.g. ``"SEModule"``.
    """

    kind: str
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    module_type: str = ""


class _Recorder:
    def __init__(self, model: nn.Module):
        self.model = model
        self.paths = _module_paths(model)
        self.records: dict[str, Attention] = {}

    def add(self, module: nn.Module, kind: str, tensors: dict[str, torch.Tensor]) -> None:
        path = self.paths.get(id(module))
        if path is None:  # a module added after the first capture: walk the model again
            self.paths = _module_paths(self.model, refresh=True)
            path = self.paths.get(id(module), f"<unregistered {type(module).__name__}>")
        key, n = path, 1
        while key in self.records:  # a module run twice in one forward keeps both records
            n += 1
            key = f"{path}@{n}"
        self.records[key] = Attention(
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
        **tensors: named tensors, see DESIGN.md.
    """
    recorder = _RECORDER.get()
    if recorder is None:
        return
    recorder.add(module, kind or module.attention_kind, tensors)


@contextlib.contextmanager
def capture(model: nn.Module) -> Iterator[dict[str, Attention]]:
    """Record every attention declared while running ``model`` in this context.

    Example:
        >>> with capture(model) as records:
        ...     logits = model(x)
        >>> records["layer3.0.se"].tensors["channel"].shape  # (B, C)

    Yields:
        dict mapping module path -> :class:`Attention`, filled as the forward pass runs.
    """
    if model not in _PATH_CACHE:  # first capture of this model: hook its foreign layers once
        install_adapters(model)
    recorder = _Recorder(model)
    token = _RECORDER.set(recorder)
    try:
        yield recorder.records
    finally:
        _RECORDER.reset(token)


def install_adapters(model: nn.Module) -> int:
    """Give known timm / torchvision attention layers hooks that emit records (idempotent).

    ``capture`` calls this on a model's first capture; call it again after adding layers to a
    model that was already captured.

    Returns:
        the number of modules that carry an adapter hook.
    """
    from viz import adapters

    return adapters.install(model)
