"""First-round module path of the backbone registry, kept as an alias (DESIGN.md allows it).

The registry lives in :mod:`viz.weights.registry`; import the contract from :mod:`viz` itself.
"""

from __future__ import annotations

from viz.weights.registry import *  # noqa: F403
from viz.weights.registry import __all__  # noqa: F401
