"""Writes a run's stream as TensorBoard event files, with TensorBoard's own writer (no TensorFlow).

Every run gets its own log directory, ``<root>/<experiment>/<run_id>``, where ``<root>`` is the
``logdir`` option or ``<experiments dir>/_tensorboard`` (``_``: the local tracker skips reserved
names, so the event files are never mistaken for runs). Point TensorBoard at the root to see every
experiment, or at ``<root>/<experiment>`` to compare one experiment's runs or sweep trials side by
side::

    tensorboard --logdir experiments/_tensorboard/digits

What a run writes: each metric as a scalar at its step (metrics logged without a step at the last
step seen); the params, tags and description as a markdown table (text tag ``params``); and for the
HParams dashboard the session start info (the flat params) and, at the end, the session end info
(completed -> success, failed/killed -> failure, pruned -> unknown). No experiment summary is
written: TensorBoard would take one run's at random as the whole experiment's, so it is left to
TensorBoard to collect the hparams from every run's session info and the metrics from their scalar
tags.

Options: ``logdir`` (the root above), ``flush_secs`` (how often pending events reach the disk;
default 10), ``hparams`` (write the HParams session info; default true).
"""

from __future__ import annotations

import copy
import itertools
import os
import socket
import time
from pathlib import Path
from typing import Any, Mapping

from exptrack_core.plugin.interfaces import RunInfo
from exptrack_core.params import flatten

from exptrack_core.plugin.options import check_options

OPTIONS = {"logdir": Path, "flush_secs": float, "hparams": bool}
ROOT_NAME = "_tensorboard"
FLUSH_SECS = 10.0
_file_ids = itertools.count()
_STATUS = {"completed": "STATUS_SUCCESS", "failed": "STATUS_FAILURE", "killed": "STATUS_FAILURE",
           "pruned": "STATUS_UNKNOWN"}


def run_logdir(run: RunInfo, options: Mapping[str, Any]) -> Path:
    """Where this run's event files go."""
    root = options.get("logdir")
    if root is None:
        # the local tracker keeps runs at <experiments dir>/<experiment>/<run_id>
        if run.run_dir.parent.name != run.experiment:
            return run.run_dir / "tensorboard"  # another tracker's layout: stay inside the run
        root = run.run_dir.parent.parent / ROOT_NAME
    return Path(root) / run.experiment / run.run_id


def hparam_value(value: Any) -> bool | float | str:
    """A param as one of the three kinds the HParams dashboard knows."""
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return str(value)


def params_markdown(run: RunInfo, params: Mapping[str, Any]) -> str:
    rows = [f"| `{k}` | {v!r} |" for k, v in sorted(flatten(params).items())]
    text = "| param | value |\n|---|---|\n" + "\n".join(rows)
    if run.tags:
        text += "\n\n**tags:** " + ", ".join(f"`{k}:{v}`" for k, v in run.tags.items())
    if run.description:
        text += "\n\n" + run.description
    return text


class EventFile:
    """One event file written in the calling thread with TensorBoard's record framing.

    TensorBoard's ``EventFileWriter`` hands each event to a thread of its own; the backend already
    runs on exptrack's background thread, and the hand-off more than doubled the CPU per event
    (which the training thread pays for in GIL waits). Named as TensorBoard names its files.
    """

    def __init__(self, logdir: Path, flush_secs: float):
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_file_ids)}")
        self.path = logdir / name
        self._file = open(self.path, "wb")
        self._records = RecordWriter(self._file)
        self._flush_secs = flush_secs
        self._flushed = time.monotonic()
        self.add_event(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))
        self.flush()

    def add_event(self, event) -> None:
        self._records.write(event.SerializeToString())
        if time.monotonic() - self._flushed >= self._flush_secs:
            self.flush()

    def flush(self) -> None:
        self._file.flush()
        self._flushed = time.monotonic()

    def close(self) -> None:
        self._file.close()


class TensorBoardBackend:
    def __init__(self, run: RunInfo, options: Mapping[str, Any] | None = None):
        opts = check_options("tensorboard", options, OPTIONS)
        self.run = run
        self.logdir = run_logdir(run, opts)
        self.hparams = opts.get("hparams", True)
        self._params: dict[str, Any] = copy.deepcopy(dict(run.params))
        self._last_step = 0
        self._started = False
        self._params_dirty = True
        self._start_time = time.time()
        self.logdir.mkdir(parents=True, exist_ok=True)  # fails here, loudly, when not writable
        self.writer = EventFile(self.logdir, opts.get("flush_secs", FLUSH_SECS))

    def _write(self, values: list, step: int, wall_time: float | None = None) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2

        self.writer.add_event(event_pb2.Event(
            wall_time=wall_time or time.time(), step=step,
            summary=summary_pb2.Summary(value=values)))

    def _hparams_value(self, plugin_data: Any, tag: str) -> Any:
        from tensorboard.compat.proto import summary_pb2
        from tensorboard.plugins.hparams import metadata

        return summary_pb2.Summary.Value(
            tag=tag, metadata=metadata.create_summary_metadata(plugin_data),
            tensor=metadata.NULL_TENSOR)

    def _flush_params(self, timestamp: float | None = None) -> None:
        """The params text, and (once) the HParams session start: written lazily so that params
        logged right after the run starts are part of it."""
        from tensorboard.plugins.text.summary_v2 import text_pb

        values = list(text_pb("params", params_markdown(self.run, self._params)).value)
        if self.hparams and not self._started:
            from tensorboard.plugins.hparams import metadata, plugin_data_pb2

            # the backend starts a moment after the run: its first logged value may be older
            start = plugin_data_pb2.SessionStartInfo(
                start_time_secs=min(self._start_time, timestamp or self._start_time))
            for name, value in flatten(self._params).items():
                v = hparam_value(value)
                field = ("bool_value" if isinstance(v, bool) else
                         "number_value" if isinstance(v, float) else "string_value")
                setattr(start.hparams[name], field, v)
            values.append(self._hparams_value(plugin_data_pb2.HParamsPluginData(
                session_start_info=start), metadata.SESSION_START_INFO_TAG))
        self._started = True
        self._params_dirty = False
        self._write(values, self._last_step)

    def log_params(self, params: Mapping[str, Any]) -> None:
        from exptrack_core.params import set_dotted

        for k, v in flatten(params).items():
            set_dotted(self._params, k, v)
        self._params_dirty = True

    def log_metrics(self, metrics: Mapping[str, float], step: int | None, timestamp: float) -> None:
        from tensorboard.compat.proto import summary_pb2

        if step is not None:
            self._last_step = step
        if self._params_dirty:
            self._flush_params(timestamp)
        self._write([summary_pb2.Summary.Value(tag=k, simple_value=v) for k, v in metrics.items()],
                    self._last_step, timestamp)

    def log_artifact(self, path: Path, name: str) -> None:
        pass  # TensorBoard has no place for files

    def finish(self, status: str) -> None:
        if self._params_dirty:
            self._flush_params()
        if self.hparams:
            from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

            end = plugin_data_pb2.SessionEndInfo(
                status=api_pb2.Status.Value(_STATUS.get(status, "STATUS_UNKNOWN")),
                end_time_secs=time.time())
            self._write([self._hparams_value(plugin_data_pb2.HParamsPluginData(
                session_end_info=end), metadata.SESSION_END_INFO_TAG)], self._last_step)
        self.writer.close()


__all__ = ["EventFile", "OPTIONS", "ROOT_NAME", "TensorBoardBackend", "hparam_value", "params_markdown",
           "run_logdir"]
