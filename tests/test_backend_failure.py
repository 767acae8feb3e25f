"""A logging backend that breaks is dropped for that run with one warning; the run goes on."""

from __future__ import annotations

import importlib.metadata as md
import textwrap

import pytest

import exptrack
import exptrack_core.plugin.registry as plugins

STEPS = 5


def train(run) -> None:
    for step in range(STEPS):
        run.log({"loss": 1.0 / (step + 1), "acc": step / 10}, step=step)
    run.log({"test_acc": 0.9})


def assert_the_local_record_is_whole(run) -> None:
    record = exptrack.ExperimentTracker("experiments").get_run(run.id)
    assert record["status"] == "completed"
    assert [p["step"] for p in record["metrics"]["loss"]] == list(range(STEPS))
    assert [p["value"] for p in record["metrics"]["acc"]] == [s / 10 for s in range(STEPS)]
    assert record["metrics"]["test_acc"][0]["value"] == 0.9


def warnings_about(name: str, err: str) -> list[str]:
    return [line for line in err.splitlines() if f"backend {name!r} failed" in line]


def test_a_tensorboard_logdir_that_cannot_be_made_disables_tensorboard_only(workdir, capsys):
    (workdir / "not-a-dir").write_text("a file where the log dir should go")
    with exptrack.init(experiment="digits", backends="local,tensorboard,console",
                       backend_options={"tensorboard": {"logdir": "not-a-dir/tb"}}) as run:
        train(run)
    err = capsys.readouterr().err
    assert len(warnings_about("tensorboard", err)) == 1
    assert "not-a-dir" in warnings_about("tensorboard", err)[0]
    assert list(run.backend_failures) == ["tensorboard"]
    assert err.count("step 4: loss=0.2") == 1  # the console backend went on
    assert_the_local_record_is_whole(run)


def test_a_wandb_dir_that_cannot_be_created_disables_wandb_only(workdir, capsys):
    (workdir / "blocked").write_text("a file where the W&B dir should go")
    with exptrack.init(experiment="digits", backends="local,wandb",
                       backend_options={"wandb": {"dir": "blocked/wandb"}}) as run:
        train(run)
    err = capsys.readouterr().err
    assert len(warnings_about("wandb", err)) == 1 and "blocked" in err
    assert list(run.backend_failures) == ["wandb"]
    assert_the_local_record_is_whole(run)


FLAKY_PLUGIN = textwrap.dedent("""
    from exptrack_core import hookimpl

    class FlakyBackend:
        \"\"\"Works for two steps, then its disk 'fills up'.\"\"\"
        calls = []

        def __init__(self, run, options):
            pass

        def log_params(self, params):
            pass

        def log_metrics(self, metrics, step, timestamp):
            FlakyBackend.calls.append(step)
            if len(FlakyBackend.calls) == 3:
                raise OSError(28, "No space left on device")

        def log_artifact(self, path, name):
            pass

        def finish(self, status):
            FlakyBackend.calls.append(status)

    @hookimpl
    def register_backends(register):
        register("flaky", FlakyBackend, "fails at its third call")
""")


@pytest.fixture
def flaky_registry(tmp_path, monkeypatch):
    """The installed plugins plus a third-party one providing the ``flaky`` backend."""
    (tmp_path / "flaky_plugin.py").write_text(FLAKY_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = list(md.entry_points(group="exptrack")) + [
        md.EntryPoint(name="flaky", value="flaky_plugin", group="exptrack")]
    monkeypatch.setattr(plugins, "_registry", plugins.build_registry(eps))
    import flaky_plugin
    return flaky_plugin.FlakyBackend


def test_a_backend_failing_mid_run_is_dropped_and_the_others_get_every_value(
        workdir, capsys, flaky_registry):
    with exptrack.init(experiment="digits", backends="local,flaky,tensorboard") as run:
        train(run)
    err = capsys.readouterr().err
    lines = warnings_about("flaky", err)
    assert len(lines) == 1 and "No space left on device" in lines[0] and "log_metrics" in lines[0]
    assert flaky_registry.calls == [0, 1, 2]  # never called again, not even to finish
    assert run.backend_failures == {"flaky": "OSError: [Errno 28] No space left on device"}
    assert_the_local_record_is_whole(run)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(workdir / "experiments" / "_tensorboard" / "digits" / run.id))
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss")] == list(range(STEPS))
