"""Visual Attention Explorer: attention modules, capture, statistics, backbones and figures.

The public contract (what code outside the project may rely on) is importable from here, so that
users and notebooks never depend on the internal layout::

    from viz import ATTENTION_KINDS, create_attention, capture, query_independence
    from viz import list_backbones, load_backbone, load_image, ImageError

Inside, layers with one dependency direction (``tests/test_layers.py`` enforces it):
``capture``, ``data`` <- ``attention`` <- ``models`` <- ``weights`` <- ``analysis`` <- ``figures``
<- ``views`` <- ``ui`` <- ``cli``; ``python -m viz`` (:mod:`viz.__main__`) runs the commands.

The names are resolved on first use (PEP 562), so ``import viz.data.samples`` stays free of torch.
``viz.capture`` is the *function* of the contract; the package of the same name is reached with
``from viz.capture import ...`` (it stays in ``sys.modules``).
"""

from __future__ import annotations

import importlib
import sys
import types

_EXPORTS = {
    "ATTENTION_KINDS": "viz.attention",
    "create_attention": "viz.attention",
    "capture": "viz.capture",
    "emit": "viz.capture",
    "Record": "viz.capture",
    "query_independence": "viz.analysis.table1",
    "list_backbones": "viz.weights.registry",
    "backbone_info": "viz.weights.registry",
    "load_backbone": "viz.weights.registry",
    "load_image": "viz.data.uploads",
    "ImageError": "viz.errors",
    "VizError": "viz.errors",
    "WeightsUnavailable": "viz.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'viz' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """Keeps ``viz.capture`` the contract's function when the ``viz.capture`` package is imported
    (the import system would otherwise bind the package to the parent's attribute)."""

    def __setattr__(self, name: str, value) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
