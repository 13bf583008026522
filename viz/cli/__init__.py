"""The commands behind ``python -m viz stats`` and ``python -m viz train`` (console script ``vae``;
:mod:`viz.__main__` dispatches to each module's ``main``). The top layer: may import every other
layer; nothing imports it."""
