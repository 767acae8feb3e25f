"""The tensorboard backend: event files read back with TensorBoard's own readers and HParams backend."""

from __future__ import annotations

from pathlib import Path

import pytest

import exptrack
from exptrack import ExptrackError
from exptrack_core.plugin.interfaces import RunInfo
from exptrack_plugins.tensorboard.backend import TensorBoardBackend


def events(logdir: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def hparams_of(acc) -> tuple[dict, int]:
    """The session start hparams and the session end status, as the HParams plugin stores them."""
    from tensorboard.plugins.hparams import metadata

    content = acc.PluginTagToContent("hparams")
    start = metadata.parse_session_start_info_plugin_data(
        content[metadata.SESSION_START_INFO_TAG])
    end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
    hparams = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
    return hparams, end.status


def hparams_dashboard(root: Path):
    """What TensorBoard's HParams dashboard lists for the runs under ``root``: its experiment
    (params and metrics) and its session groups, from TensorBoard's own hparams backend."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups

    multiplexer = pem.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(root))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(root))
    backend = backend_context.Context(base_plugin.TBContext(
        logdir=str(root), data_provider=provider, multiplexer=multiplexer))
    req = context.RequestContext()
    experiment = backend.experiment_from_metadata(
        req, "", True, backend.hparams_metadata(req, ""),
        backend.hparams_from_data_provider(req, "", None))
    request = api_pb2.ListSessionGroupsRequest(
        start_index=0, slice_size=100, allowed_statuses=[0, 1, 2, 3],
        col_params=[api_pb2.ColParams(hparam=h.name) for h in experiment.hparam_infos]
        + [api_pb2.ColParams(metric=m.name) for m in experiment.metric_infos])
    groups = list_session_groups.Handler(req, backend, "", request).run().session_groups
    return experiment, groups


def test_a_run_with_the_tensorboard_backend_writes_scalars_params_and_hparams(workdir):
    params = {"train": {"lr": 0.001, "epochs": 3, "amp": True}, "model": "resnet18"}
    with exptrack.init(experiment="digits", params=params, tags={"team": "ml"},
                       description="baseline", backends="local,tensorboard") as run:
        for epoch in range(3):
            run.log({"train_loss": 1.0 / (epoch + 1), "val_acc": 0.8 + epoch / 10}, step=epoch)
        run.log({"test_acc": 0.91})
    assert run.backend_failures == {}
    logdir = workdir / "experiments" / "_tensorboard" / "digits" / run.id
    acc = events(logdir)
    assert sorted(acc.Tags()["scalars"]) == ["test_acc", "train_loss", "val_acc"]
    assert [(e.step, round(e.value, 4)) for e in acc.Scalars("val_acc")] == [
        (0, 0.8), (1, 0.9), (2, 1.0)]
    assert [(e.step, round(e.value, 4)) for e in acc.Scalars("test_acc")] == [(2, 0.91)]
    text = acc.Tensors("params")[0].tensor_proto.string_val[0].decode()
    assert "| `train.lr` | 0.001 |" in text and "`team:ml`" in text and "baseline" in text
    hparams, status = hparams_of(acc)
    assert hparams == {"train.lr": 0.001, "train.epochs": 3.0, "train.amp": True,
                       "model": "resnet18"}
    from tensorboard.plugins.hparams import api_pb2
    assert status == api_pb2.STATUS_SUCCESS


def test_the_hparams_dashboard_compares_sweep_trials_side_by_side(tmp_path):
    root = tmp_path / "tb"
    for trial, (lr, status) in enumerate([(0.1, "completed"), (0.01, "failed")]):
        info = RunInfo(run_id=f"trial-{trial}", experiment="digits",
                       run_dir=tmp_path / "digits" / f"trial-{trial}",
                       params={"lr": lr, "model": "resnet18"}, sweep_id="sweep-1")
        backend = TensorBoardBackend(info, {"logdir": str(root)})
        for step in range(3):
            backend.log_metrics({"val_acc": lr * step}, step, 0.0)
        backend.finish(status)
    experiment, groups = hparams_dashboard(root / "digits")
    assert sorted(h.name for h in experiment.hparam_infos) == ["lr", "model"]
    assert [m.name.tag for m in experiment.metric_infos] == ["val_acc"]
    from tensorboard.plugins.hparams import api_pb2
    rows = {g.name: (g.hparams["lr"].number_value, round(g.metric_values[0].value, 4),
                     g.sessions[0].status) for g in groups}
    assert rows == {"trial-0": (0.1, 0.2, api_pb2.STATUS_SUCCESS),
                    "trial-1": (0.01, 0.02, api_pb2.STATUS_FAILURE)}


def test_params_logged_right_after_the_start_are_part_of_the_hparams(tmp_path):
    info = RunInfo(run_id="r1", experiment="digits", run_dir=tmp_path / "digits" / "r1",
                   params={"train": {"lr": 0.1}})
    backend = TensorBoardBackend(info, {})
    backend.log_params({"train": {"batch_size": 64}})
    backend.log_metrics({"loss": 1.0}, 0, 0.0)
    backend.finish("pruned")
    acc = events(tmp_path / "_tensorboard" / "digits" / "r1")
    hparams, status = hparams_of(acc)
    assert hparams == {"train.lr": 0.1, "train.batch_size": 64.0}
    from tensorboard.plugins.hparams import api_pb2
    assert status == api_pb2.STATUS_UNKNOWN  # pruned: neither a success nor a failure


def test_a_run_with_only_final_metrics_writes_them_at_step_zero(tmp_path):
    info = RunInfo(run_id="r1", experiment="digits", run_dir=tmp_path / "digits" / "r1")
    backend = TensorBoardBackend(info, {"hparams": "false", "flush_secs": "5"})
    backend.log_metrics({"test_acc": 0.5}, None, 0.0)
    backend.finish("completed")
    acc = events(tmp_path / "_tensorboard" / "digits" / "r1")
    assert [(e.step, e.value) for e in acc.Scalars("test_acc")] == [(0, 0.5)]
    assert not any(tag.startswith("_hparams_/") for tag in acc.Tags()["tensors"])


def test_a_bad_option_is_refused_naming_it_and_what_is_accepted(tmp_path):
    info = RunInfo(run_id="r1", experiment="digits", run_dir=tmp_path / "digits" / "r1")
    with pytest.raises(ExptrackError, match=r"flush_secs='soon'.*a number"):
        TensorBoardBackend(info, {"flush_secs": "soon"})
    with pytest.raises(ExptrackError, match=r"unknown option 'log_dir'.*accepted: flush_secs, "
                                            r"hparams, logdir"):
        TensorBoardBackend(info, {"log_dir": "x"})
