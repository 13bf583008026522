"""``python -m viz <command>`` (console script ``vae``): the project's one command line.

Why one entry point: a newcomer finds every command from ``python -m viz --help`` instead of
reading ``viz/cli/`` to learn which module has a ``main``. Each command's own flags stay in its
module (:mod:`viz.cli.stats_command`, :mod:`viz.cli.train`) and are passed through untouched, so this file
never re-declares them and ``--help`` after a command is that command's own help. The commands are
imported only when run: ``python -m viz --help`` does not load torch.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"  # the repository's Streamlit app

EXAMPLES = """\
examples:
  python -m viz stats photos/ --backbone zoo/nl_embedded_gaussian --out results/
  python -m viz train --smoke --out /tmp/zoo-smoke
  python -m viz train --all
  python -m viz app --server.port 8600
  python -m viz train --help       # every flag of one command"""


def _stats(argv: list[str]) -> int:
    from viz.cli.stats_command import main

    return main(argv)


def _train(argv: list[str]) -> int:
    from viz.cli.train import main

    return main(argv)


def app_command(argv: Sequence[str]) -> list[str]:
    """The ``streamlit run`` command line for the repository's ``app.py``, ``argv`` passed on."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), *argv]


def _app(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m viz app",
        usage="%(prog)s [-h] [STREAMLIT_RUN_ARGS ...]",
        description="Start the Visual Attention Explorer: streamlit run app.py from the\n"
        "repository root (so its .streamlit/config.toml applies). Every other argument\n"
        "goes on to streamlit run (see: streamlit run --help).",
        epilog="example:\n  python -m viz app --server.port 8600 --server.headless true",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    _, rest = parser.parse_known_args(argv)
    if not APP.is_file():
        print(
            f"error: {APP} not found: the app runs from a clone of the repository", file=sys.stderr
        )
        return 2
    try:
        return subprocess.call(app_command(rest), cwd=APP.parent)
    except KeyboardInterrupt:  # Ctrl-C reaches streamlit too (same process group); it stops itself
        return 130


COMMANDS: dict[str, tuple[str, Callable[[list[str]], int]]] = {
    "stats": ("GCNet's Table-1 statistics over a folder of images (CSV + Markdown)", _stats),
    "train": ("train the zoo of attention modules and write weights/", _train),
    "app": ("start the Streamlit app (streamlit run app.py)", _app),
}


def _parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<6} {about}" for name, (about, _) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="python -m viz",
        description="Visual Attention Explorer: look inside CNNs with attention modules.\n\n"
        f"commands:\n{listing}",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=COMMANDS, metavar="COMMAND", help="one of the above")
    parser.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        metavar="ARGS",
        help="the command's own arguments (COMMAND --help)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code.

    Args:
        argv: arguments without the program name (``sys.argv[1:]`` when None).
    """
    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        parser.print_help(sys.stderr)
        return 2
    args = parser.parse_args(argv)
    return COMMANDS[args.command][1](args.args)


if __name__ == "__main__":
    raise SystemExit(main())
