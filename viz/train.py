"""``python -m viz.train --all`` (see :mod:`viz.cli.train`): trains the zoo and writes ``weights/``."""

from __future__ import annotations

from viz.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
