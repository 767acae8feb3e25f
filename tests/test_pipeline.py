"""The reference pipeline (stages/) run as a user runs it: ``python stages/<stage>.py`` in a repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exptrack_core.params import apply_overrides

from .conftest import REPO, assert_one_line_error

CURVES = ("train_loss", "train_acc", "val_loss", "val_acc", "val_f1", "lr")


def make_project(dest: Path, **overrides) -> Path:
    """A copy of the pipeline (stages/ and params.yaml) with a short training budget."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "stages", dest / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "params.yaml", dest / "params.yaml")
    set_params(dest, **{"train.epochs": 1, "train.warmup_epochs": 0,
                        "train.backends": ["local", "dvc"], **overrides})
    return dest


def set_params(project: Path, **dotted) -> None:
    path = project / "params.yaml"
    params = apply_overrides(yaml.safe_load(path.read_text()), dotted, strict=False)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def stage(name: str, project: Path, tmp_home: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    if tmp_home is not None:  # empty weight caches: nothing pretrained is there
        env.update(HF_HOME=str(tmp_home / "hf"), TORCH_HOME=str(tmp_home / "torch"))
    return subprocess.run([sys.executable, f"stages/{name}.py"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def curves(project: Path) -> dict[str, list[tuple[str, str]]]:
    """Each logged curve as (step, value) rows, read from the dvc backend's TSV files."""
    out = {}
    for name in CURVES:
        lines = (project / "plots/train" / f"{name}.tsv").read_text().splitlines()
        assert lines[0] == f"step\t{name}"
        out[name] = [tuple(line.split("\t")) for line in lines[1:]]
    return out


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    project = make_project(tmp_path_factory.mktemp("prepared"))
    ok(stage("prepare", project))
    return project


@pytest.fixture
def project(prepared, tmp_path) -> Path:
    """A project whose data is prepared (copied from one prepare run)."""
    dest = tmp_path / "project"
    shutil.copytree(prepared, dest)
    return dest


def test_prepare_splits_the_digits_with_a_fixed_seed(prepared, tmp_path):
    import numpy as np

    again = make_project(tmp_path / "again")
    ok(stage("prepare", again))
    with np.load(prepared / "data/prepared/dataset.npz") as a, \
            np.load(again / "data/prepared/dataset.npz") as b:
        sizes = {s: len(a[f"y_{s}"]) for s in ("train", "val", "test")}
        assert sizes == {"train": 1257, "val": 270, "test": 270}  # 1797 digits, 15% val, 15% test
        assert all(np.array_equal(a[k], b[k]) for k in a.files)
        assert a["x_train"].shape[1:] == (1, 8, 8) and list(a["classes"]) == [str(d) for d in range(10)]


@pytest.mark.slow
def test_same_params_give_identical_metrics_on_cpu(project):
    set_params(project, **{"train.device": "cpu"})
    first = ok(stage("train", project))
    assert "epoch 1/1" in first.stdout
    before = curves(project)
    shutil.rmtree(project / "checkpoints")
    ok(stage("train", project))
    assert curves(project) == before
    latest = json.loads((project / "metrics/train.json").read_text())
    assert set(CURVES) | {"epoch_time", "step", "best_val_acc"} <= set(latest)
    assert latest["step"] == 1 and latest["val_acc"] > 0.3  # one epoch beats chance (0.1)


@pytest.mark.slow
def test_an_interrupted_training_resumes_from_last_pt_and_matches_an_uninterrupted_one(project,
                                                                                     tmp_path):
    schedule = {"train.device": "cpu", "train.scheduler": "step", "train.step_size": 1,
                "train.gamma": 0.5, "train.warmup_epochs": 1}
    uninterrupted = tmp_path / "uninterrupted"
    shutil.copytree(project, uninterrupted)
    set_params(uninterrupted, **schedule, **{"train.epochs": 2})
    ok(stage("train", uninterrupted))

    set_params(project, **schedule, **{"train.epochs": 1})
    ok(stage("train", project))  # stops after epoch 1, as if interrupted there
    set_params(project, **{"train.epochs": 2})
    resumed = ok(stage("train", project))
    assert "resuming from checkpoints/last.pt after epoch 1" in resumed.stdout
    assert "epoch 1/2" not in resumed.stdout and "epoch 2/2" in resumed.stdout
    assert curves(project) == curves(uninterrupted)  # epoch 1 carried over, epoch 2 identical

    set_params(project, **{"train.lr": 0.001})
    fresh = ok(stage("train", project))
    assert "resuming" not in fresh.stdout and "epoch 1/2" in fresh.stdout


def test_a_checkpoint_resumes_only_under_the_params_it_was_trained_with(tmp_path):
    import torch  # noqa: F401  (checkpoints are torch files)

    from stages import checkpoints

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    path = tmp_path / "last.pt"
    checkpoints.save(path, {"epoch": 2, "fingerprint": checkpoints.fingerprint(params)})
    longer = apply_overrides(params, {"train.epochs": 9, "train.patience": 1,
                                      "train.final_test": False})
    assert checkpoints.resumable(path, longer)[0]["epoch"] == 2
    state, why = checkpoints.resumable(path, apply_overrides(params, {"train.lr": 1.0}))
    assert state is None and why == f"{path} was trained with other params"
    state, why = checkpoints.resumable(path, apply_overrides(params, {"train.epochs": 1}))
    assert state is None and "past train.epochs" in why


@pytest.mark.slow
def test_evaluate_writes_test_metrics_per_class_scores_and_the_confusion_matrix(project):
    ok(stage("train", project))
    ok(stage("evaluate", project))
    metrics = json.loads((project / "metrics/eval.json").read_text())
    assert set(metrics) == {"test_loss", "test_acc", "test_f1", "checkpoint_epoch"}
    assert 0.3 < metrics["test_acc"] <= 1 and 0 < metrics["test_f1"] <= 1  # chance is 0.1
    report = json.loads((project / "metrics/per_class.json").read_text())
    assert sorted(report["per_class"]) == [str(d) for d in range(10)]
    assert set(report["per_class"]["7"]) == {"precision", "recall", "f1", "support"}
    matrix = report["confusion_matrix"]["matrix"]
    assert sum(map(sum, matrix)) == 270
    assert sum(matrix[i][i] for i in range(10)) / 270 == pytest.approx(metrics["test_acc"])
    records = json.loads((project / "plots/eval/confusion.json").read_text())
    assert len(records) == 270 and set(records[0]) == {"actual", "predicted"}
    assert (project / "plots/eval/confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "tv:resnet18"])
def test_pretrained_weights_that_are_not_cached_fail_at_once_with_a_clear_message(project, tmp_path,
                                                                                  name):
    set_params(project, **{"model.name": name, "model.pretrained": True})
    proc = stage("train", project, tmp_home=tmp_path)
    assert_one_line_error(proc, "model.pretrained is true but the weights of", "not in the local cache",
                          "model.pretrained: false")
    assert not (project / "checkpoints").exists()


@pytest.mark.parametrize("override, fragments", [
    ({"train.final_test": "yes"}, ("invalid train.final_test 'yes'", "true or false")),
    ({"evaluate.checkpoint": "worst"}, ("invalid evaluate.checkpoint 'worst'", "best, last")),
    ({"evaluate.batch_size": 0}, ("invalid evaluate.batch_size 0", "integer >= 1")),
])
def test_the_final_test_settings_are_refused_before_training_starts(tmp_path, override, fragments):
    project = make_project(tmp_path / "p", **override)
    assert_one_line_error(stage("train", project), *fragments)  # before the (absent) data is read
    assert not (project / "checkpoints").exists()


@pytest.mark.parametrize("source, problem", [("no/such/dir", "does not exist"),
                                             ("empty", "has no images")])
def test_an_image_folder_that_is_missing_or_empty_is_one_line_of_error(tmp_path, source, problem):
    project = make_project(tmp_path / "p", **{"data.source": source})
    (project / "empty" / "cats").mkdir(parents=True)
    proc = stage("prepare", project)
    assert_one_line_error(proc, f"data.source {source!r} {problem}", "ImageFolder")


def write_image_folder(root: Path, per_class: int) -> None:
    """Two classes of identical black images: nothing to learn, so validation never improves."""
    from PIL import Image

    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (12, 10)).save(root / cls / f"{i}.png")


@pytest.mark.slow
def test_an_image_folder_trains_and_patience_stops_a_run_that_stopped_improving(tmp_path):
    project = make_project(tmp_path / "p", **{
        "data.source": "images", "data.val_fraction": 0.2, "data.test_fraction": 0.2,
        "train.epochs": 6, "train.patience": 2, "train.device": "cpu"})
    write_image_folder(project / "images", per_class=10)
    ok(stage("prepare", project))
    proc = ok(stage("train", project))
    assert "stopping after epoch 3: no val_acc improvement in 2 epochs (train.patience)" in proc.stdout
    assert [step for step, _ in curves(project)["val_acc"]] == ["1", "2", "3"]
    again = ok(stage("train", project))  # a stopped run stays stopped
    assert "epoch 4/6" not in again.stdout


def test_models_by_name_the_builtin_cnn_timm_and_torchvision_classify_small_images():
    import torch

    from stages.models import build_model

    x = torch.zeros(2, 1, 8, 8)
    for name in ("small_cnn", "resnet18", "timm:resnet18", "tv:resnet18"):
        model = build_model({"name": name, "width": 8, "dropout": 0.0}, 1, 10).eval()
        assert model(x).shape == (2, 10), name


@pytest.mark.parametrize("name, message", [
    ("no_such_net", "unknown timm model 'no_such_net'"),
    ("tv:no_such_net", "unknown torchvision model 'no_such_net'"),
    ("keras:resnet", "invalid model.name prefix 'keras'")])
def test_an_unknown_model_name_says_what_exists(name, message):
    from exptrack import ExptrackError
    from stages.models import build_model

    with pytest.raises(ExptrackError, match=message):
        build_model({"name": name}, 1, 10)


@pytest.mark.slow
def test_the_other_training_options_run_together(project):
    set_params(project, **{
        "train.epochs": 2, "train.optimizer": "sgd", "train.lr": 0.05, "train.scheduler": "onecycle",
        "train.warmup_epochs": 1, "train.loss": "focal", "train.class_weights": "balanced",
        "train.label_smoothing": 0.1, "train.mixup_alpha": 0.2, "train.grad_clip": 0.5,
        "train.monitor": "val_loss"})
    ok(stage("train", project))
    rates = [float(v) for _, v in curves(project)["lr"]]
    assert rates[0] < 0.05 / 5  # onecycle starts low and warms up towards train.lr
    latest = json.loads((project / "metrics/train.json").read_text())
    assert latest["val_acc"] > 0.3 and "best_val_loss" in latest


def schedule_rates(**cfg) -> list[float]:
    """The learning rate at the start of every batch, for 4 epochs of 10 batches."""
    import torch

    from stages.schedules import LrSchedule, build_optimizer

    cfg = {"epochs": 4, "optimizer": "adamw", "lr": 0.1, "weight_decay": 0.0, "warmup_epochs": 1,
           "step_size": 1, "gamma": 0.5, "plateau_patience": 0, **cfg}
    model = torch.nn.Linear(2, 2)
    optimizer = build_optimizer(cfg, model)
    schedule = LrSchedule(cfg, optimizer, steps_per_epoch=10, maximize=True)
    rates = []
    for epoch in range(4):
        for _ in range(10):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.after_batch()
        schedule.after_epoch(0.5)  # a validation metric that never improves
    return rates


def test_schedules_warm_up_then_follow_their_shape():
    cosine = schedule_rates(scheduler="cosine")
    assert cosine[0] < cosine[5] < cosine[9] < 0.1 and max(cosine) == pytest.approx(0.1)
    assert cosine[10] > cosine[20] > cosine[30] > cosine[39] > 0
    step = schedule_rates(scheduler="step", step_size=1, gamma=0.5)
    assert step[10:40:10] == pytest.approx([0.1, 0.05, 0.025])
    plateau = schedule_rates(scheduler="plateau", gamma=0.5, plateau_patience=0)
    # epoch 1 sets the best; each later epoch without improvement halves the rate
    assert plateau[10:40:10] == pytest.approx([0.1, 0.05, 0.025])
    onecycle = schedule_rates(scheduler="onecycle")
    assert onecycle.index(max(onecycle)) in (9, 10) and onecycle[-1] < 0.001
    assert schedule_rates(scheduler="none", warmup_epochs=0) == [0.1] * 40


def test_a_resumed_schedule_continues_where_it_stopped():
    import torch

    from stages.schedules import LrSchedule, build_optimizer

    cfg = {"epochs": 4, "optimizer": "adamw", "lr": 0.1, "weight_decay": 0.0, "warmup_epochs": 1,
           "scheduler": "cosine", "step_size": 1, "gamma": 0.5, "plateau_patience": 0}
    optimizer = build_optimizer(cfg, torch.nn.Linear(2, 2))
    resumed = LrSchedule(cfg, optimizer, 10, maximize=True)
    resumed.load_state_dict({"steps": 25, "plateau": None})
    assert optimizer.param_groups[0]["lr"] == pytest.approx(schedule_rates(scheduler="cosine")[25])


def test_focal_loss_class_weights_and_mixup():
    import numpy as np
    import torch

    from exptrack import ExptrackError
    from stages.losses import Objective, class_weights, mixup

    logits, target = torch.tensor([[4.0, 0.0], [0.0, 0.5]]), torch.tensor([0, 0])
    ce = Objective("cross_entropy")(logits, target)
    assert Objective("focal", focal_gamma=0.0)(logits, target) == pytest.approx(float(ce))
    focal = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    focal = (focal * (1 - (-focal).exp()) ** 2).mean()
    assert Objective("focal", focal_gamma=2.0)(logits, target) == pytest.approx(float(focal))

    weights = class_weights("balanced", np.array([0, 0, 0, 1]), 2)
    assert weights.tolist() == pytest.approx([4 / 6, 4 / 2])  # the rare class counts more
    with pytest.raises(ExptrackError, match="train.class_weights has 3 entries; expected 2"):
        class_weights([1, 2, 3], np.array([0, 1]), 2)
    with pytest.raises(ExptrackError, match="invalid train.loss 'hinge'"):
        Objective("hinge")

    torch.manual_seed(0)
    x, y = torch.arange(4.0).view(4, 1), torch.tensor([0, 1, 2, 3])
    mixed, y_a, y_b, lam = mixup(x, y, alpha=0.4)
    assert 0 < lam < 1 and torch.equal(y_a, y)
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[y_b])
    assert mixup(x, y, alpha=0.0)[3] == 1.0


@pytest.mark.slow
def test_a_sweep_trial_joins_its_run_and_keeps_its_checkpoints_in_it(project):
    from exptrack_core.run import get_tracker

    tracker = get_tracker(project / "experiments")
    run_id = tracker.create_run("digits", params={"train": {"lr": 0.01}}, sweep_id="s1",
                                trial_id="t0001")  # as the sweep creates it
    tracker.close(run_id)
    env = {"EXPTRACK_DIR": str(project / "experiments"), "EXPTRACK_RUN_ID": run_id,
           "EXPTRACK_SWEEP_ID": "s1", "EXPTRACK_TRIAL_ID": "t0001",
           "EXPTRACK_PARAMS": json.dumps({"train.lr": 0.01}), "EXPTRACK_BACKENDS": "local"}
    proc = subprocess.run([sys.executable, "stages/train.py"], cwd=project, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **env})
    ok(proc)
    record = get_tracker(project / "experiments").get_run(run_id)
    assert record["status"] == "completed" and record["params"]["train"]["lr"] == 0.01
    assert [p["step"] for p in record["metrics"]["val_acc"]] == [1]
    assert (Path(record["run_dir"]) / "checkpoints/best.pt").is_file()
    assert not (project / "checkpoints").exists()  # trials sharing a workspace never collide
    assert not (project / "plots").exists()  # EXPTRACK_BACKENDS replaced train.backends


@pytest.mark.slow
def test_a_rerun_attempt_of_a_sweep_trial_resumes_from_its_last_pt_on_the_same_curve(project):
    """A trial killed after epoch 1 and run again (attempt 2) continues from the last.pt in
    run.checkpoint_dir and does not log epoch 1 a second time: the run holds one curve."""
    from exptrack_core.run import get_tracker

    tracker = get_tracker(project / "experiments")
    run_id = tracker.create_run("digits", params={"train": {"lr": 0.01}}, sweep_id="s1",
                                trial_id="t0001")  # as the sweep creates it
    tracker.close(run_id)
    env = {**os.environ, "EXPTRACK_DIR": str(project / "experiments"), "EXPTRACK_RUN_ID": run_id,
           "EXPTRACK_SWEEP_ID": "s1", "EXPTRACK_TRIAL_ID": "t0001", "EXPTRACK_BACKENDS": "local"}
    for attempt, epochs in ((1, 1), (2, 2)):  # attempt 1 "dies" after epoch 1
        if attempt == 2:  # the sweep makes the run pending again for its next attempt
            tracker.set_status(run_id, "running")
            tracker.close(run_id)
            tracker.log_context(run_id, {"sweep": "s1"})
        trial = {**env, "EXPTRACK_ATTEMPT": str(attempt),
                 "EXPTRACK_PARAMS": json.dumps({"train.lr": 0.01, "train.epochs": epochs})}
        proc = ok(subprocess.run([sys.executable, "stages/train.py"], cwd=project, text=True,
                                 capture_output=True, timeout=600, env=trial))
    assert "resuming from" in proc.stdout and "epoch 1/2" not in proc.stdout
    record = get_tracker(project / "experiments").get_run(run_id)
    assert [p["step"] for p in record["metrics"]["val_acc"]] == [1, 2]
