"""First-round module path of upload validation, kept as an alias (DESIGN.md allows it).

The code lives in :mod:`viz.data.uploads`; import the contract from :mod:`viz` itself.
"""

from __future__ import annotations

from viz.data.uploads import *  # noqa: F403
from viz.data.uploads import __all__  # noqa: F401
