"""Checkpoints are data: no code runs on load, and unusable files are named in the error."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from viz.errors import CheckpointError
from viz.weights.checkpoints import load_checkpoint, load_state_dict_checked, sha256_of


class Payload:
    """Unpickling this would create ``marker`` (a stand-in for arbitrary code)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payload_is_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "x": Payload(marker)}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert "evil.pth" in str(info.value)
    assert not marker.exists()
    # the payload is live: an unsafe load would have run it
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_truncated_safetensors_names_file(tmp_path):
    path = tmp_path / "cut.safetensors"
    save_file({"w": torch.randn(64, 64)}, str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert "cut.safetensors" in str(info.value)


def test_missing_file_and_non_state_dict(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pth")
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="list.pth"):
        load_checkpoint(path)


def test_wrapped_state_dict_is_unwrapped(tmp_path):
    path = tmp_path / "wrapped.pth.tar"
    state = {"module.fc.weight": torch.randn(2, 3)}
    torch.save({"epoch": 3, "best_prec1": 70.0, "state_dict": state}, path)
    loaded = load_checkpoint(path)
    assert set(loaded) == {"module.fc.weight"}
    assert torch.equal(loaded["module.fc.weight"], state["module.fc.weight"])
    assert len(sha256_of(path)) == 64


def test_mismatched_state_dict_names_file_and_keys(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    state = dict(model.state_dict())
    state.pop("1.bias")
    state["0.weight"] = torch.zeros(5, 3)
    state["2.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as info:
        load_state_dict_checked(model, state, tmp_path / "model.safetensors")
    msg = str(info.value)
    assert "model.safetensors" in msg
    assert "missing 1: 1.bias" in msg
    assert "unexpected 1: 2.weight" in msg
    assert "0.weight (5, 3) != (4, 3)" in msg


def test_matching_state_dict_loads(tmp_path):
    model = nn.Linear(3, 2)
    other = nn.Linear(3, 2)
    load_state_dict_checked(model, other.state_dict(), "x")
    assert torch.equal(model.weight, other.weight)
