"""Which backbone a module page starts with (viz.weights.choice) and the cheap weights checks it
relies on (each source's ``weights_present``), on a fake registry and on empty temporary caches."""

from __future__ import annotations

import pytest
import torch

from viz.weights import choice, registry
from viz.weights.registry import backbone_info, weights_present
from viz.weights.spec import BackboneSpec


def _never_built(device):
    raise AssertionError("a ranking must never load a backbone")


def _spec(name, group, kinds, score, present, metric="mAP"):
    return BackboneSpec(
        name,
        group,
        name,
        _never_built,
        {"kinds": kinds, "accuracy": score, "metric": metric},
        weights_present=lambda: present,
    )


FAKE = [
    _spec("pre/se_best_top1", "pretrained", ["se"], 80.4, True, metric="top-1"),
    _spec("zoo/se_low", "zoo", ["se"], 0.30, True),
    _spec("zoo/gsop_high", "zoo", ["gsop"], 0.37, True),
    _spec("zoo/se_missing", "zoo", ["se"], 0.99, False),
    _spec("zoo/nl", "zoo", ["nl_gaussian"], 0.50, True),
    _spec("zoo/cbam_no_score", "zoo", ["cbam"], None, True),
    _spec("off/eca_missing", "official", ["eca"], 77.0, False, metric="top-1"),
]


@pytest.fixture
def fake_registry(monkeypatch):
    """The choice module sees only :data:`FAKE` (the real registry is untouched)."""
    specs = {s.name: s for s in FAKE}
    monkeypatch.setattr(choice, "list_backbones", lambda group=None: list(specs))
    monkeypatch.setattr(choice, "backbone_info", specs.__getitem__)
    monkeypatch.setattr(choice, "weights_present", lambda name: specs[name].weights_present())
    return specs


CHANNEL = ("se", "eca", "gsop", "cbam", "bam")


def test_candidates_rank_present_then_zoo_then_metric(fake_registry):
    ranked = choice.candidates_for(CHANNEL)
    assert [c.name for c in ranked] == [
        "zoo/gsop_high",  # present, zoo, highest mAP
        "zoo/se_low",
        "zoo/cbam_no_score",  # present, zoo, no metric: after those with one
        "pre/se_best_top1",  # present, but top-1 on ImageNet is not compared with the zoo's mAP
        "zoo/se_missing",  # the highest score of all, yet its weights are missing
        "off/eca_missing",
    ]
    assert [c.present for c in ranked] == [True, True, True, True, False, False]
    assert "zoo/nl" not in {c.name for c in ranked}  # carries no channel kind
    assert ranked[0].kinds == ("gsop",) and ranked[0].metric == "mAP"


def test_recent_failures_count_as_missing(fake_registry):
    ranked = choice.candidates_for(CHANNEL, unavailable={"zoo/gsop_high"})
    assert ranked[0].name == "zoo/se_low"
    failed = next(c for c in ranked if c.name == "zoo/gsop_high")
    assert not failed.present


@pytest.mark.parametrize(
    ("preferred", "expected"),
    [
        ("zoo/se_low", "zoo/se_low"),  # preferred carries a channel kind: it wins
        ("pre/se_best_top1", "pre/se_best_top1"),
        ("zoo/nl", "zoo/gsop_high"),  # carries none: the best present one
        ("zoo/se_missing", "zoo/gsop_high"),  # carries one, weights missing: never by default
        ("no/such", "zoo/gsop_high"),
        (None, "zoo/gsop_high"),
    ],
)
def test_default_choice(fake_registry, preferred, expected):
    assert choice.default_choice(choice.candidates_for(CHANNEL), preferred) == expected


def test_default_choice_is_none_when_nothing_can_load(fake_registry):
    ranked = choice.candidates_for("eca")
    assert [c.name for c in ranked] == ["off/eca_missing"]
    assert choice.default_choice(ranked, "off/eca_missing") is None


def test_a_single_kind_string_is_one_kind(fake_registry):
    assert [c.name for c in choice.candidates_for("nl_gaussian")] == ["zoo/nl"]
    assert choice.candidates_for("nl") == []  # not a substring match


@pytest.fixture
def empty_caches(tmp_path, monkeypatch):
    """No user weights, empty HF / torch caches, an empty official folder."""
    for sub in ("user", "hf", "torchhub", "official"):
        (tmp_path / sub).mkdir()
    monkeypatch.setenv("VAE_WEIGHTS_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("VAE_OFFICIAL_DIR", str(tmp_path / "official"))
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "torchhub"))
    return tmp_path


def test_public_backbones_are_missing_until_their_file_is_there(empty_caches):
    public = [n for n in registry.list_backbones() if n.split("/")[0] in {"timm", "torchvision"}]
    official = registry.list_backbones("official")
    assert public and official
    assert not any(weights_present(n) for n in public + official)

    (empty_caches / "user" / "seresnet33ts.safetensors").write_bytes(b"x")  # a user file
    assert weights_present("timm/seresnet33ts") and not weights_present("timm/gcresnet33ts")

    repo = empty_caches / "hf" / "models--timm--gcresnet33ts.ra2_in1k"  # the HF cache layout
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "model.safetensors").write_bytes(b"x")
    assert weights_present("timm/gcresnet33ts")

    import torchvision

    url = torchvision.models.get_weight("EfficientNet_B0_Weights.IMAGENET1K_V1").url
    cached = empty_caches / "torchhub" / "checkpoints" / url.rsplit("/", 1)[-1]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert weights_present("torchvision/efficientnet_b0")
    assert not weights_present("torchvision/mobilenet_v3_large")

    (empty_caches / "official" / backbone_info("official/cbam_resnet50").meta.file).write_bytes(
        b"x"
    )
    assert weights_present("official/cbam_resnet50")
    assert not weights_present("official/bam_resnet50")


def test_zoo_presence_follows_its_checkpoint_file(tmp_path):
    from viz.weights.sources.zoo import WEIGHTS_DIR, checkpoint_name, zoo_weights_present

    assert not zoo_weights_present("se", tmp_path)
    (tmp_path / checkpoint_name("se")).write_bytes(b"x")
    assert zoo_weights_present("se", tmp_path)  # sha256 and contents are checked when loading
    shipped = (WEIGHTS_DIR / checkpoint_name("se")).is_file()
    assert weights_present("zoo/se") == shipped


def test_unknown_or_broken_checks_are_not_present():
    assert not weights_present("no/such-backbone")

    def _broken():
        raise OSError("unreadable cache folder")

    registry.register(
        BackboneSpec("test/broken_check", "test", "t", _never_built, {}, weights_present=_broken)
    )
    assert not weights_present("test/broken_check")
