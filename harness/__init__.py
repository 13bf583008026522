"""The one browser/server harness of the project's own checks: serve ``streamlit run app.py`` on a
free localhost port, open Debian's Chromium through Playwright, wait until a page has settled, and
read the explorer's probe. ``tests/browser``, the browser benchmarks in ``bench/`` and
``tools/screenshots.py`` all drive the app through it, so a change of flags, waits or probes is
made once.

Why a top-level package and not ``viz/testing``: ``tests/test_layers.py`` requires every module
under ``viz/`` to belong to one of the package's layers, and a harness that starts servers and
browsers is none of them; it is also tooling for this checkout, not part of the installed package
(``pyproject.toml`` ships ``viz`` only). At the root it is importable the same way ``viz`` is:
``python -m pytest`` runs from the root, ``bench/common.py`` and ``tools/screenshots.py`` put the
root (this repository, nothing outside it) on ``sys.path``.

- :mod:`harness.server`: a free port, the app served and stopped (its own process group).
- :mod:`harness.browser`: Chromium, the settle wait, the explorer probe, the script-state log,
  websocket bytes, the pictures the tabs upload.
- :mod:`harness.procs`: the CPU and memory the server and the browsers spend (``/proc``).
"""
