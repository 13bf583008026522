"""viz.cli.zoo_trainer in parts: setup, one epoch, evaluation and recording, each on its own, on the
tiny scenes of ``scene_fixtures`` (``test_train.py`` drives them together through the command)."""

from __future__ import annotations

import json

import pytest
import torch
from scene_fixtures import write_scene_table

from viz.cli import zoo_trainer
from viz.cli.manifest import start_manifest
from viz.cli.recipe import Recipe, Run, RunState
from viz.cli.zoo_trainer import (
    Clock,
    FixedFeatures,
    Objective,
    Pool,
    evaluate_epoch,
    fixed_features,
    record_epoch,
    start_runs,
    train_epoch,
)
from viz.data.scenes import GENERATOR_VERSION, SceneSources
from viz.weights.checkpoints import load_checkpoint, sha256_of

RUNS = [Run("baseline", 0), Run("nl_dot_product", 0), Run("nl_dot_product", 0, "pool")]


def smoke_recipe(**changes) -> Recipe:
    """The recipe of ``python -m viz train --smoke``: 64-px scenes, two steps of four."""
    base = dict(
        size=64, epochs=1, scenes_per_epoch=8, batch=4, n_test=8, table1_scenes=4, pool=4, workers=0
    )
    return Recipe(**{**base, **changes})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("parts")
    table = write_scene_table(root / "data")
    recipe = smoke_recipe()
    train, test = (SceneSources.from_table(split, table) for split in ("train", "test"))
    fixed = fixed_features(RUNS, recipe, root / "cache", train, test, log=lambda _: None)
    return {
        "root": root,
        "recipe": recipe,
        "train": train,
        "test": test,
        "classes": list(table["classes"]),
        "fixed": fixed,
    }


def fresh_pool(fixed: FixedFeatures, seed: int = 17) -> Pool:
    """The fixture's pool with its own generator, so each test draws the same scenes."""
    pool = fixed.pool
    return Pool(pool.feats, pool.labels, pool.soft, torch.Generator().manual_seed(seed))


def test_fixed_features_hold_the_test_scenes_table1_and_the_pool(world):
    recipe, fixed = world["recipe"], world["fixed"]
    assert fixed.test.shape == (recipe.n_test, 432, 4, 4)
    assert fixed.test_labels.shape == (recipe.n_test, len(world["classes"]))
    assert torch.equal(fixed.table1, fixed.test[: recipe.table1_scenes])
    assert len(fixed.pool.feats) == len(fixed.pool.labels) == len(fixed.pool.soft) == recipe.pool
    assert not torch.equal(fixed.pool.feats, fixed.test[: recipe.pool])  # train scenes, not test
    assert fixed.seconds > 0


def test_fixed_features_are_read_back_from_the_cache_and_skip_the_pool_when_unused(
    world, monkeypatch
):
    def no_rendering(self):
        raise AssertionError("rendered scenes although the cache holds them")

    monkeypatch.setattr(zoo_trainer.SceneFeatures, "__iter__", no_rendering)
    args = world["recipe"], world["root"] / "cache", world["train"], world["test"]
    again = fixed_features(RUNS, *args, log=lambda _: None)
    assert torch.equal(again.test, world["fixed"].test)
    assert torch.equal(again.pool.feats, world["fixed"].pool.feats)
    assert fixed_features(RUNS[:2], *args, log=lambda _: None).pool is None


def test_the_pool_draws_the_same_scenes_for_the_same_seed(world):
    a, b = fresh_pool(world["fixed"]), fresh_pool(world["fixed"])
    first = a.draw(6)
    assert all(torch.equal(x, y) for x, y in zip(first, b.draw(6)))
    assert len(first[0]) == 6
    assert not torch.equal(first[0], a.draw(6)[0])  # the generator moves on


def test_start_runs_seeds_each_model_and_gives_nl_runs_their_init_row(world):
    recipe = smoke_recipe(epochs=5, warmup_share=0.5)  # 10 steps, 5 of warm-up
    runs = [Run("baseline", 0), Run("nl_dot_product", 0), Run("nl_dot_product", 1)]
    states = start_runs(runs, recipe, 3, world["fixed"].table1)
    again = start_runs(runs[1:2], recipe, 3, world["fixed"].table1)[0]
    seed0, seed1 = (st.model.state_dict() for st in states[1:])
    assert all(torch.equal(seed0[k], v) for k, v in again.model.state_dict().items())
    assert any(not torch.equal(seed0[k], seed1[k]) for k in seed0)
    assert states[0].table1_curve == []
    assert [row["epoch"] for row in states[1].table1_curve] == [0]
    assert states[1].table1_curve[0]["output"] is None  # a new block adds exactly zero
    assert states[1].opt.param_groups[0]["lr"] == pytest.approx(recipe.lr / 5)
    assert all(st.curves["epoch"] == [] and st.loss_n == 0 for st in states)


def test_the_objective_adds_the_teacher_term_on_mapped_classes_only():
    torch.manual_seed(0)
    classes = ["bird", "red"]  # the teacher maps birds, not the fixture's colours
    logits, targets = torch.randn(5, 2), torch.randint(0, 2, (5, 2)).float()
    soft = torch.rand(5, 2)
    loss, label = Objective(10.0, classes)(logits, targets, soft)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    assert label == pytest.approx(float(bce(logits, targets)))
    assert loss == pytest.approx(float(label + 10.0 * bce(logits[:, :1], soft[:, :1])))
    soft[:, 1] = 1 - soft[:, 1]
    assert Objective(10.0, classes)(logits, targets, soft)[0] == pytest.approx(float(loss))
    assert Objective(0.0, classes)(logits, targets, soft)[0] == pytest.approx(float(label))
    assert Objective(10.0, ["red"])(logits[:, 1:], targets[:, 1:], soft[:, 1:])[0] == (
        pytest.approx(float(bce(logits[:, 1:], targets[:, 1:])))
    )


class CountingPool(Pool):
    """A pool that keeps what it drew."""

    def draw(self, n):
        drawn = super().draw(n)
        self.draws = [*getattr(self, "draws", []), drawn]
        return drawn


def one_epoch(world, runs=RUNS) -> tuple[list[RunState], CountingPool, list[str]]:
    recipe, fixed = world["recipe"], world["fixed"]
    states = start_runs(runs, recipe, len(world["classes"]), fixed.table1)
    pool = fresh_pool(fixed)
    pool = CountingPool(pool.feats, pool.labels, pool.soft, pool.gen)
    lines: list[str] = []
    seconds, waiting = train_epoch(
        states,
        1,
        recipe,
        world["train"],
        Objective(recipe.distill, world["classes"]),
        pool,
        log=lines.append,
    )
    assert seconds >= waiting >= 0
    return states, pool, lines


def test_train_epoch_steps_every_run_once_per_batch(world):
    recipe = world["recipe"]
    before = [
        {k: v.clone() for k, v in st.model.state_dict().items()}
        for st in start_runs(RUNS, recipe, 3, world["fixed"].table1)
    ]
    states, pool, lines = one_epoch(world)
    assert [len(d[0]) for d in pool.draws] == [recipe.batch] * recipe.steps_per_epoch
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        f"  epoch 1 step 1/{recipe.steps_per_epoch}"  # logged every 20 steps, from the first
    ]
    for st, start in zip(states, before):
        assert st.loss_n == recipe.scenes_per_epoch
        assert st.loss_sum == st.label_loss_sum > 0  # no teacher term: no colour is mapped
        assert st.sched.last_epoch == recipe.steps_per_epoch
        assert st.seconds > 0
        now = st.model.state_dict()
        assert any(not torch.equal(now[k], v) for k, v in start.items())


def test_pool_runs_train_on_the_pool_draw_and_fresh_runs_on_the_new_scenes(world, monkeypatch):
    seen = []
    step = zoo_trainer.train_step

    def spy(st, inputs, targets, soft, objective):
        seen.append((st.run.regime, inputs))
        step(st, inputs, targets, soft, objective)

    monkeypatch.setattr(zoo_trainer, "train_step", spy)
    _, pool, _ = one_epoch(world)
    per_step = [seen[i : i + len(RUNS)] for i in range(0, len(seen), len(RUNS))]
    assert len(per_step) == len(pool.draws)
    for ((_, base), (_, nl), (regime, pooled)), drawn in zip(per_step, pool.draws):
        assert regime == "pool" and pooled is drawn[0]  # one draw, shared by every pool run
        assert base is nl and not torch.equal(base, pooled)  # every fresh run, the same batch


def test_train_epoch_is_repeatable(world):
    """The same runs on the same scenes and pool draws end with the same weights: what makes the
    checkpoints of a rerun byte-identical."""
    first, second = one_epoch(world)[0], one_epoch(world)[0]
    for a, b in zip(first, second):
        sa, sb = a.model.state_dict(), b.model.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
        assert a.loss_sum == b.loss_sum


def test_evaluate_epoch_closes_the_epoch_in_every_curve(world):
    states, _, _ = one_epoch(world)
    means = [(st.loss_sum / st.loss_n, st.label_loss_sum / st.loss_n) for st in states]
    evaluate_epoch(states, 1, world["fixed"], world["classes"])
    for st, (loss, label) in zip(states, means):
        assert st.curves["epoch"] == [1]
        assert st.curves["train_loss"] == [loss] and st.curves["train_label_loss"] == [label]
        assert st.curves["heldout_loss"] == [st.metrics["loss"]]
        assert st.curves["heldout_mAP"] == [st.metrics["mAP"]]
        assert 0 <= st.metrics["mAP"] <= 1
        assert st.metrics["photo_checks"] == []
        assert (st.loss_sum, st.label_loss_sum, st.loss_n) == (0.0, 0.0, 0)
    assert states[0].table1_curve == []
    for st in states[1:]:
        assert [row["epoch"] for row in st.table1_curve] == [0, 1]
        assert st.table1_curve[1]["output"] is not None  # trained: the block adds something


def test_run_state_means_the_epoch_losses_over_scenes():
    st = RunState(Run("baseline", 0), None, None, None)
    st.add_losses(1.0, 0.5, 4)
    st.add_losses(4.0, 2.0, 2)
    st.close_epoch(3, {"loss": 0.7, "mAP": 0.4})
    assert st.curves["epoch"] == [3]
    assert st.curves["train_loss"] == [pytest.approx(2.0)]
    assert st.curves["train_label_loss"] == [pytest.approx(1.0)]
    assert st.metrics == {"loss": 0.7, "mAP": 0.4}


def test_record_epoch_writes_the_checkpoints_and_the_whole_manifest(world, tmp_path):
    recipe, classes = world["recipe"], world["classes"]
    states, _, _ = one_epoch(world)
    evaluate_epoch(states, 1, world["fixed"], classes)
    manifest = start_manifest(recipe, RUNS, classes, world["train"], world["test"], tmp_path)
    clock = Clock(start=0.0, features=1.34, epoch_start=0.0, epoch_train=2.0, epoch_waiting=0.5)
    record_epoch(manifest, states, tmp_path, recipe, 1, clock)
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == manifest
    assert set(on_disk["checkpoints"]) == {r.name for r in RUNS}
    progress = on_disk["progress"]
    assert (progress["epochs_completed"], progress["epochs_planned"]) == (1, recipe.epochs)
    assert (progress["feature_seconds"], progress["last_epoch_train_seconds"]) == (1.3, 2.0)
    assert on_disk["nl_regimes"]["nl_dot_product"]["fresh_mAP"] == states[1].metrics["mAP"]
    for st in states:
        entry = on_disk["checkpoints"][st.run.name]
        assert entry["sha256"] == sha256_of(tmp_path / st.run.file)
        assert entry["curves"] == st.curves and entry["baseline_mAP"] == states[0].metrics["mAP"]
        saved = load_checkpoint(tmp_path / st.run.file)
        model = st.model.state_dict()
        assert all(torch.equal(v, model[k]) for k, v in saved.items())
    assert "table1_curve" not in on_disk["checkpoints"]["baseline"]


def test_start_manifest_keeps_other_entries_only_when_made_on_the_same_data(world, tmp_path):
    recipe, classes = world["recipe"], world["classes"]
    old = {
        "classes": classes,
        "data": {"generator_version": GENERATOR_VERSION},
        "checkpoints": {"baseline": {"mAP": 0.5}, "se": {"mAP": 0.6}},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(old))
    args = world["train"], world["test"], tmp_path
    kept = start_manifest(recipe, [Run("se", 0)], classes, *args)
    assert kept["checkpoints"] == {"baseline": {"mAP": 0.5}}  # "se" is being remade
    assert kept["runs"] == ["se"] and kept["recipe"]["batch"] == recipe.batch
    other = start_manifest(recipe, [Run("se", 0)], [*classes, "purple"], *args)
    assert other["checkpoints"] == {}
