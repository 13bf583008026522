"""Command-line entry points: ``python -m viz.stats`` / ``vae-stats`` and ``python -m viz.train`` /
``vae-train``. The top layer: may import every other layer; nothing imports it."""
