"""The final curves of a sweep's ended trials, one line each, in one append-only file.

A trial process asking ``run.should_stop()`` needs every trial's curve of the sweep metric. Read
one history per trial, its first verdict in a sweep of 10,000 ended trials opens 10,000 files
(seconds). The controller reads each trial's curve anyway as the trial ends, so it appends that
final curve here (``curves.jsonl`` in the sweep's directory: ``{"trial_id", "metric", "steps",
"values"}`` a line, written with one ``write`` on an ``O_APPEND`` descriptor, so a line is whole
or absent), and a trial process reads this one file from the offset it reached instead. Steps and
values are base64 of little-endian int64/float64 arrays: exact (NaN included) and parsed without
a float parse per value, which is most of the cost of 10,000 curves written as JSON numbers.

An ended trial's curve never changes, so taking it from here decides exactly as reading its
history does. A trial with no line here (in flight, ended before the controller wrote its line,
a sweep recorded before this file existed, a torn last line) is read through ``read_history``
as before: the file is a shortcut, never the record.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from array import array
from pathlib import Path

FILE = "curves.jsonl"

Points = list[tuple[int, float]]


class EndedCurveLog:
    def __init__(self, sweep_dir: str | os.PathLike):
        self.path = Path(sweep_dir) / FILE
        self.offset = 0

    def append(self, trial_id: str, metric: str, points: Points) -> None:
        # NaN stays NaN (json writes it as NaN and reads it back); Curves made inf NaN already
        line = json.dumps({"trial_id": trial_id, "metric": metric,
                           "steps": _pack("q", [s for s, _ in points]),
                           "values": _pack("d", [v for _, v in points])}) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def read_new(self, metric: str) -> dict[str, Points]:
        """trial id -> its final curve of ``metric``, for the lines appended since the last call
        (only whole lines: one still being written is read next time)."""
        return {tid: points for tid, points, _ in self.read_lines(metric)}

    def read_lines(self, metric: str) -> list[tuple[str, Points, tuple[str, str]]]:
        """The lines of ``metric`` appended since the last call, in order, as ``(trial id,
        curve, (steps, values) as written)``: a trial may have two (a re-run continuing it)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1
        if not end:
            return []
        self.offset += end
        lines = data[:end].decode("utf-8", "replace").splitlines()
        try:  # one parse for all the lines; line by line only if one of them is damaged
            records = json.loads("[" + ",".join(lines) + "]")
        except ValueError:
            records = [r for r in map(_parse, lines) if r is not None]
        out = []
        for r in records:
            if isinstance(r, dict) and r.get("metric") == metric and isinstance(r.get("trial_id"), str):
                try:
                    steps, values = _unpack("q", r["steps"]), _unpack("d", r["values"])
                except (TypeError, ValueError, KeyError):
                    continue  # a damaged line: that trial is read through its history
                if len(steps) == len(values):
                    out.append((r["trial_id"], list(zip(steps, values)), (r["steps"], r["values"])))
        return out


def _pack(code: str, numbers: list) -> str:
    a = array(code, numbers)
    if sys.byteorder != "little":
        a.byteswap()
    return base64.b64encode(a.tobytes()).decode("ascii")


def _unpack(code: str, text: str) -> list:
    a = array(code)
    a.frombytes(base64.b64decode(text, validate=True))  # ValueError if damaged or cut short
    if sys.byteorder != "little":
        a.byteswap()
    return a.tolist()


def _parse(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None


__all__ = ["EndedCurveLog", "FILE"]
