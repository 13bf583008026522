"""viz.analysis.folder's file handling for ``python -m viz stats``: bounded reads, no symlinks out of
the input folder, outputs renamed into place, spreadsheet formulas neutralised (issue 21, item 4)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from viz.analysis import folder
from viz.analysis.folder import COLUMNS, read_image_file, write_outputs
from viz.data.uploads import MAX_UPLOAD_BYTES
from viz.errors import ImageError

ROOT = Path(__file__).resolve().parents[2]
FORMULA_NAME = "=cmd|' /C calc'!A0.png"  # a folder "=cmd|' " holding "C calc'!A0.png"

# Peak RSS before and after refusing one file, in a fresh process (ru_maxrss is in KiB on Linux).
_MEASURE = """
import resource, sys
from viz.analysis.folder import read_image_file
from viz.errors import ImageError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    read_image_file(sys.argv[1], sys.argv[2])
    print("read")
except ImageError as exc:
    print("refused:", exc)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_huge_sparse_file_is_refused_without_reading_it(tmp_path: Path):
    if shutil.which("truncate") is None:
        pytest.skip("needs coreutils' truncate")
    big = tmp_path / "huge.png"
    subprocess.run(["truncate", "-s", str(MAX_UPLOAD_BYTES + 2**30), str(big)], check=True)
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(big), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    verdict, growth_kib = run.stdout.strip().splitlines()
    assert int(growth_kib) < 8 * 1024  # the 1 GiB was never read (it cost +0.9 GB before)
    assert verdict.startswith("refused:") and "the limit is 50 MB" in verdict


def test_the_read_itself_stops_at_the_limit_plus_one_byte(tmp_path: Path, monkeypatch):
    path = tmp_path / "x.png"
    path.write_bytes(b"a" * 16)
    assert read_image_file(path, tmp_path, limit=16) == b"a" * 16
    with pytest.raises(ImageError, match="the limit is"):
        read_image_file(path, tmp_path, limit=15)

    # a file that grows after its size was taken: the read asks for limit + 1 bytes, no more
    path.write_bytes(b"a" * 4096)
    real_fstat, asked = os.fstat, []

    class Small:
        def __init__(self, info):
            self.st_mode, self.st_size = info.st_mode, 10

    monkeypatch.setattr(folder.os, "fstat", lambda fd: Small(real_fstat(fd)))

    class Counting(io.FileIO):
        def read(self, size=-1):
            asked.append(size)
            return super().read(size)

    monkeypatch.setattr(folder.os, "fdopen", lambda fd, mode: Counting(fd, mode))
    with pytest.raises(ImageError, match="grew past the limit"):
        read_image_file(path, tmp_path, limit=16)
    assert asked == [17]


def test_symlinks_out_of_the_folder_are_refused_and_links_inside_followed(tmp_path: Path):
    root, outside = tmp_path / "in", tmp_path / "secret.png"
    (root / "sub").mkdir(parents=True)
    outside.write_bytes(b"outside")
    (root / "sub" / "real.png").write_bytes(b"inside")
    (root / "leak.png").symlink_to(outside)
    (root / "up.png").symlink_to(Path("..") / "secret.png")
    (root / "alias.png").symlink_to(Path("sub") / "real.png")
    for name in ("leak.png", "up.png"):
        with pytest.raises(ImageError, match="outside the input folder"):
            read_image_file(root / name, root)
    assert read_image_file(root / "alias.png", root) == b"inside"
    # a symlinked input folder is resolved first: its own files are inside it
    (tmp_path / "link_to_in").symlink_to(root, target_is_directory=True)
    assert read_image_file(tmp_path / "link_to_in" / "alias.png", tmp_path / "link_to_in")


def _rows(image: str) -> list[dict]:
    return [
        {"image": image, "layer": "2", "kind": "nl_gaussian", "N": 64, "cos_input": -0.25}
        | {"cos_output": 0.5, "cos_att": 0.1, "jsd_att": None}
    ]


def test_a_planted_symlink_at_an_output_name_is_replaced_not_written_through(tmp_path: Path):
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("mine, keep me")
    for name in ("per_image.csv", "summary.csv", "summary.md"):
        (out / name).symlink_to(victim)
    paths = write_outputs(_rows("a.png"), [], out, "# md\n")
    assert victim.read_text() == "mine, keep me"
    for path in paths.values():
        assert not path.is_symlink() and path.is_file()
    assert (out / "summary.md").read_text() == "# md\n"
    assert sorted(p.name for p in out.iterdir()) == ["per_image.csv", "summary.csv", "summary.md"]
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "per_image.csv").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_output_and_no_temporary_file(tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.md").write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(folder.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_outputs([], [], out, "new")
    assert [p.name for p in out.iterdir()] == ["summary.md"]
    assert (out / "summary.md").read_text() == "old"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_like_text_cells_are_neutralised_and_numbers_kept(tmp_path: Path, start: str):
    name = start + "1+1.png" if start != "=" else FORMULA_NAME
    write_outputs(_rows(name), [{"layer": "-x", "kind": "@k", "N": "64"}], tmp_path, "")
    with (tmp_path / "per_image.csv").open(newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert tuple(row) == COLUMNS
    assert row["image"] == "'" + name
    assert row["cos_input"] == "-0.25" and float(row["cos_input"]) == -0.25  # a number, untouched
    with (tmp_path / "summary.csv").open(newline="") as f:
        (summary,) = list(csv.DictReader(f))
    assert (summary["layer"], summary["kind"], summary["N"]) == ("'-x", "'@k", "64")


def test_plain_names_are_written_as_they_are(tmp_path: Path):
    write_outputs(_rows("sub/a b.png"), [], tmp_path, "")
    with (tmp_path / "per_image.csv").open(newline="") as f:
        assert next(csv.DictReader(f))["image"] == "sub/a b.png"
