"""One command line: ``python -m viz stats | train | app`` and its console script ``vae``, run the
way a newcomer runs them (a subprocess from the repository root)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from scene_fixtures import write_scene_table

from harness.server import AppServer, free_port, stop_app, wait_healthy
from viz.__main__ import APP, COMMANDS, app_command, main

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def _viz(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "viz", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def test_one_console_script_runs_the_same_main():
    assert SCRIPTS == {"vae": "viz.__main__:main"}
    module, func = SCRIPTS["vae"].split(":")
    assert getattr(importlib.import_module(module), func) is main


def test_top_level_help_lists_every_command_with_an_example():
    out = _viz("--help", timeout=120)
    assert out.returncode == 0, out.stderr
    assert "usage: python -m viz" in out.stdout
    for name in COMMANDS:
        assert f"\n  {name} " in out.stdout  # listed with what it does
        assert f"python -m viz {name} " in out.stdout  # and an example of it
    bare = _viz(timeout=120)  # no command: the help, and a usage error's exit code
    assert bare.returncode == 2 and "commands:" in bare.stderr


@pytest.mark.parametrize(
    "command, says",
    [
        ("stats", ["IMAGE_DIR", "--backbone", "--exact", "example:", "python -m viz stats "]),
        # every flag of the training command comes through, --gcnet's included
        ("train", ["--smoke", "--kind", "--gcnet", "--cells", "--workers", "--cache"]),
        ("app", ["streamlit run", "example:", "python -m viz app --server.port"]),
    ],
)
def test_command_help(command, says):
    out = _viz(command, "--help", timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"usage: python -m viz {command}" in out.stdout
    missing = [s for s in says if s not in out.stdout]
    assert not missing, out.stdout


def test_unknown_command_is_a_usage_error():
    out = _viz("trian", timeout=120)
    assert out.returncode == 2 and "invalid choice: 'trian'" in out.stderr


def test_train_smoke_from_the_command_line(tmp_path):
    write_scene_table(tmp_path / "data")
    out = tmp_path / "zoo"
    run = _viz(
        "train",
        "--smoke",
        "--out",
        str(out),
        "--scene-table",
        str(tmp_path / "data" / "table.json"),
        "--kind",
        "se",
        "--no-variants",
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["checkpoints"]) == {"se"}
    assert (out / manifest["checkpoints"]["se"]["file"]).is_file()


def test_flags_reach_the_command_untouched(monkeypatch):
    seen = []

    def train(argv: list[str]) -> int:
        seen.append(argv)
        return 7

    monkeypatch.setitem(COMMANDS, "train", ("train", train))
    argv = ["--gcnet", "--cells", "family", "--workers", "1", "--cache", "c", "--help"]
    assert main(["train", *argv]) == 7  # its exit code, too
    assert seen == [argv]


def test_app_runs_the_repositorys_app_with_the_extra_arguments():
    assert APP == ROOT / "app.py" and APP.is_file()
    cmd = app_command(["--server.port", "8600", "--server.headless", "true"])
    assert cmd == [
        sys.executable,
        *("-m", "streamlit", "run", str(ROOT / "app.py")),
        *("--server.port", "8600", "--server.headless", "true"),
    ]


def test_app_command_serves_the_app(tmp_path):
    """``python -m viz app`` started from elsewhere still serves app.py (health check answers)."""
    port, log = free_port(), tmp_path / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "viz", "app", "--server.port", str(port)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stop_app ends it with streamlit, nothing else
        )
    server = AppServer(proc, port)
    try:
        wait_healthy(server)
    finally:
        stop_app(server)
    output = log.read_text()
    assert f":{port}" in output and "Traceback" not in output, output[-2000:]
