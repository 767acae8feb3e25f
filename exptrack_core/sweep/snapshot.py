"""A snapshot a trial process starts its early-stopping verdicts from, kept by the controller.

A trial's first ``run.should_stop()`` needs every trial's curve of the sweep metric. Read from the
records (the journal replayed, every ended curve in ``curves.jsonl``, the stopper deriving its
state from all of them) that costs hundreds of milliseconds at 10,000 ended trials. So the
controller keeps ``stopper.snapshot`` in the sweep's directory: the journal's offset and the trials
known there but not folded in (in flight, or ended without a ``curves.jsonl`` line), the offset
of ``curves.jsonl``, the ids of the ended trials folded in, and what the sweep's stopper derived
from those (its ``snapshot_state``: e.g. hyperband's sorted values per band). A trial process
loads it (its stopper's ``restore_snapshot``) and reads only what was appended after the two
offsets, and the histories of the trials not folded in (``stopping.SweepCurves``).

The snapshot is never the record: it is rebuilt from the records by each controller, written
atomically (a temporary file, then a rename), and a trial uses it only if it matches them (same
format, same stopper config, offsets that end where the files' bytes say). Missing, damaged,
stale, or from another config: the trial reads the records as before. A stopper without
``snapshot_state``/``restore_snapshot`` (a third party's) always reads the records.

It is rewritten at most once per ``EVERY_S`` while trials end (and when the controller stops), so
its cost per trial does not grow with the sweep; a trial catches up from the offsets.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from array import array
from bisect import bisect_left, insort
import time
import zlib
from contextlib import suppress
from pathlib import Path
from typing import Any

from exptrack_core.files import replacing
from exptrack_core.sweep.curves import Curves
from exptrack_core.sweep.endedcurves import FILE as CURVES_FILE, EndedCurveLog
from exptrack_core.sweep.keys import watched_metric
from exptrack_core.sweep.states import TrialRecord

FILE = "stopper.snapshot"
FORMAT = 1
EVERY_S = 1.0
JOURNAL = "trials.jsonl"
_TAIL = 32  # bytes before an offset kept in the snapshot, to tell the same file from another


def snapshot_key(config: dict[str, Any]) -> str:
    """What a snapshot's stopper state depends on: the stopper's config, the goal, the metric."""
    metric, goal = watched_metric(config)
    return json.dumps({"early_terminate": config.get("early_terminate"), "metric": metric,
                       "goal": goal}, sort_keys=True, default=str)


def supports_snapshots(stopper: Any) -> bool:
    return callable(getattr(stopper, "snapshot_state", None)) and \
        callable(getattr(stopper, "restore_snapshot", None))


class Snapshot:
    """A snapshot file read back and checked against the records."""

    def __init__(self, header: dict[str, Any], ids: bytes, hashes: bytes, state: bytes):
        self.journal_offset, self.journal_lines = header["journal"][0], header["journal"][1]
        self.curves_offset = header["curves"][0]
        self.tracked: list[list] = header["tracked"]   # [trial id, run id, status]
        self.folded = FoldedIds(ids, hashes)
        self.state = state

    def seed(self, journal: Any, ended: EndedCurveLog) -> list[TrialRecord]:
        """Start ``journal`` (a ``JournalReplay``) and ``ended`` at the snapshot's offsets; the
        trials not folded in, to follow through their histories."""
        journal.offset, journal.lines, ended.offset = (self.journal_offset, self.journal_lines,
                                                       self.curves_offset)
        for trial_id, run_id, status in self.tracked:
            journal.trials[trial_id] = TrialRecord(trial_id, run_id, {}, status=status)
        return list(journal.trials.values())


class FoldedIds:
    """The ids of the ended trials a snapshot's stopper state holds, asked one at a time.

    Building a set of 10,000 ids costs a trial process about 1 ms, so they stay as written: one
    ``\\n``-separated text, and the sorted 64-bit hashes of the ids (a bisect says "not folded";
    a hash found is confirmed in the text, so a collision never decides)."""

    def __init__(self, ids: bytes, hashes: bytes):
        self._ids = ids
        self._hashes = array("Q")
        self._hashes.frombytes(hashes)
        if sys.byteorder != "little":
            self._hashes.byteswap()

    def __contains__(self, trial_id: object) -> bool:
        if not isinstance(trial_id, str):
            return False
        h = id_hash(trial_id)
        i = bisect_left(self._hashes, h)
        if i == len(self._hashes) or self._hashes[i] != h:
            return False
        return b"\n" + trial_id.encode("utf-8") + b"\n" in self._ids


def id_hash(trial_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(trial_id.encode("utf-8"), digest_size=8).digest(), "little")


def read_snapshot(sweep_dir: str | os.PathLike, key: str) -> Snapshot | None:
    """The sweep's snapshot if it is whole, of this format and ``key``, and matches the records;
    None otherwise (the caller reads the records)."""
    d = Path(sweep_dir)
    try:
        with open(d / FILE, "rb") as f:
            data = f.read()
        cut = data.index(b"\n") + 1
        header = json.loads(data[:cut])
        if header.get("format") != FORMAT or header.get("key") != key:
            return None
        sizes = header["sections"]
        if not all(isinstance(n, int) and n >= 0 for n in sizes) or len(sizes) != 3 or \
                cut + sum(sizes) != len(data) or zlib.crc32(data[cut:]) != header["crc32"]:
            return None  # cut short, or its bytes changed since it was written
        if not (_matches(d / JOURNAL, *header["journal"][::2])
                and _matches(d / CURVES_FILE, *header["curves"])):
            return None
        ids, hashes = data[cut:cut + sizes[0]], data[cut + sizes[0]:cut + sizes[0] + sizes[1]]
        return Snapshot(header, ids, hashes, data[len(data) - sizes[2]:])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _matches(path: Path, offset: int, tail: str) -> bool:
    """Does ``path`` hold, just before ``offset``, the bytes the snapshot saw there?"""
    return isinstance(offset, int) and offset >= 0 and _tail(path, offset) == tail


def _tail(path: Path, offset: int) -> str:
    """The last bytes before ``offset`` (hex): what tells the same file from another."""
    if offset == 0:
        return ""
    with open(path, "rb") as f:
        start = max(0, offset - _TAIL)
        f.seek(start)
        return f.read(offset - start).hex()


class SnapshotWriter:
    """The controller's side: follows the journal and ``curves.jsonl`` from where it stopped,
    folds each ended trial's curve into a stopper of the sweep's config, and rewrites the
    snapshot at most once per ``EVERY_S`` (``ended``) and when the controller stops (``flush``)."""

    def __init__(self, store: Any, stopper: Any, config: dict[str, Any]):
        self.dir = Path(store.dir)
        self.stopper, self.key = stopper, snapshot_key(config)
        self.metric = watched_metric(config)[0]
        self.journal = store.replay()
        self.lines = EndedCurveLog(self.dir)
        self.curves = Curves()                     # the folded trials' curves, nothing else
        self._lines: dict[str, tuple[str, str]] = {}
        self._hashes: list[int] = []               # of the folded ids, sorted
        self._open: set[str] = set()                # in the journal, not folded in
        self.broken = False
        self._dirty, self._written_at = True, 0.0

    @classmethod
    def start(cls, store: Any, config: dict[str, Any]) -> "SnapshotWriter | None":
        """A writer for this sweep, its snapshot written from the records now; None when the
        sweep's stopper keeps no snapshot."""
        from exptrack_core.sweep.stopping import build_stopper

        if not config.get("early_terminate") or not watched_metric(config)[0]:
            return None
        try:
            stopper = build_stopper(config)
        except Exception:
            return None
        if not supports_snapshots(stopper):
            return None
        writer = cls(store, stopper, config)
        writer.flush()
        return writer

    def ended(self) -> None:
        """A trial ended (its line appended, its end journaled)."""
        self._dirty = True
        if time.monotonic() - self._written_at >= EVERY_S:
            self.flush()

    def flush(self) -> None:
        if not self._dirty:
            return
        self._dirty, self._written_at = False, time.monotonic()
        try:
            self._catch_up()
            if self.broken:  # two different final curves for one trial: only the records decide
                with suppress(OSError):
                    os.unlink(self.dir / FILE)
                return
            self._write()
        except Exception:  # the snapshot is a shortcut: the sweep goes on, trials read the records
            with suppress(OSError):
                os.unlink(self.dir / FILE)

    def _catch_up(self) -> None:
        # the same order a trial reads in: curves first, so a line always wins over its events
        for trial_id, points, raw in self.lines.read_lines(self.metric):
            seen = self._lines.get(trial_id)
            if seen is not None:
                # a re-run continuing a trial: the same curve again changes nothing; another one
                # would decide differently depending on which line a trial read
                self.broken |= seen != raw
                continue
            self._lines[trial_id] = raw
            insort(self._hashes, id_hash(trial_id))
            self._open.discard(trial_id)
            self.curves.extend(trial_id, points)
        for t in self.journal.update():
            if t.trial_id not in self._lines:
                self._open.add(t.trial_id)

    def _write(self) -> None:
        state = self.stopper.snapshot_state(self.curves)
        if state is None:  # the stopper keeps none for these curves (too big, say)
            with suppress(OSError):
                os.unlink(self.dir / FILE)
            return
        trials = self.journal.trials
        ids = ("\n" + "".join(f"{tid}\n" for tid in self._lines)).encode("utf-8")
        hashes = array("Q", self._hashes)
        if sys.byteorder != "little":
            hashes.byteswap()
        header = {"format": FORMAT, "key": self.key,
                  "journal": [self.journal.offset, self.journal.lines,
                              _tail(self.dir / JOURNAL, self.journal.offset)],
                  "curves": [self.lines.offset, _tail(self.dir / CURVES_FILE, self.lines.offset)],
                  "tracked": [[tid, trials[tid].run_id, trials[tid].status] for tid in self._open],
                  "sections": [len(ids), len(hashes) * 8, len(state)]}
        body = ids + hashes.tobytes() + state
        header["crc32"] = zlib.crc32(body)
        with replacing(self.dir / FILE) as tmp:
            tmp.write_bytes(json.dumps(header).encode("utf-8") + b"\n" + body)
            os.chmod(tmp, 0o644)  # as the other records: any process of the sweep may read it


__all__ = ["EVERY_S", "FILE", "FORMAT", "FoldedIds", "Snapshot", "SnapshotWriter", "read_snapshot",
           "snapshot_key", "supports_snapshots"]
