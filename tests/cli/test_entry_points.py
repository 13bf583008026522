"""pyproject's console scripts name real ``main`` functions, and ``python -m`` still works for both."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_two_console_scripts():
    assert set(SCRIPTS) == {"vae-stats", "vae-train"}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_script_target_is_callable(script):
    module, func = SCRIPTS[script].split(":")
    assert callable(getattr(importlib.import_module(module), func))


@pytest.mark.parametrize("module", ["viz.stats", "viz.train"])
def test_module_help(module):
    out = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0 and f"python -m {module}" in out.stdout, out.stderr
