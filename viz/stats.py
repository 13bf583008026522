"""``python -m viz.stats IMAGE_DIR --backbone NAME --out DIR`` (see :mod:`viz.cli.stats`).

Also the first-round path of the Table-1 statistics: ``from viz.stats import query_independence``
keeps working (the code lives in :mod:`viz.analysis.stats`).
"""

from __future__ import annotations

from viz.analysis.stats import *  # noqa: F403  (the first-round module path, kept as an alias)
from viz.analysis.stats import __all__  # noqa: F401
from viz.cli.stats import main

if __name__ == "__main__":
    raise SystemExit(main())
