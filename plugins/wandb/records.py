"""Reading W&B's offline run files (``run-<id>.wandb``): run info, config, history, summary.

wandb writes every run, online or offline, to ``<dir>/wandb/<offline-run-...>/run-<id>.wandb``
as it goes: a leveldb-style log (leveldb's ``doc/log_format.md``: 32 KiB blocks of
``crc32 | length | type`` chunks, a record split over blocks as FIRST/MIDDLE/LAST) behind a 7-byte
``:W&B`` header, each record a ``wandb.proto.wandb_internal_pb2.Record``. The chunk checksum is
zlib's crc32 of the data seeded with the crc32 of the type byte.

``read_records(path, offset)`` returns the complete records after ``offset`` and the offset to
continue from, so a follower calls it again as the file grows; a record still being written at the
tail is left for the next call. ``WandbRunFile`` folds records into the run's current state.
wandb is imported only when records are decoded.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any, Iterator

from exptrack_core.errors import ExptrackError

FILE_HEADER = struct.Struct("<4sHB")  # ident, magic, version
IDENT, MAGIC, VERSION = b":W&B", 0xBEE1, 0
CHUNK_HEADER = struct.Struct("<IHB")  # crc32, length, type
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (FULL, FIRST, MIDDLE, LAST)}


def _check_header(path: Path, head: bytes) -> None:
    ident, magic, version = FILE_HEADER.unpack(head)
    if ident != IDENT or magic != MAGIC:
        raise ExptrackError(f"{path} is not a W&B run file: it does not start with the ':W&B' header "
                            "(expected a run-<id>.wandb file written by wandb)")
    if version != VERSION:
        raise ExptrackError(f"{path} is a W&B run file of format version {version}; this reader "
                            f"knows version {VERSION}")


def iter_chunks(path: Path, offset: int) -> Iterator[tuple[int, bytes | None, int]]:
    """``(kind, data, end)`` for each complete chunk after ``offset``; ``kind`` 0 marks a corrupt
    block that was skipped. Stops before a chunk that is not fully written yet."""
    with open(path, "rb") as f:
        if offset < FILE_HEADER.size:
            head = f.read(FILE_HEADER.size)
            if len(head) < FILE_HEADER.size:
                return
            _check_header(path, head)
            offset = FILE_HEADER.size
        f.seek(offset)
        buf = f.read()
    end, pos = offset + len(buf), offset
    while True:
        left = BLOCK - pos % BLOCK
        if left < CHUNK_HEADER.size:  # a block's trailer: zeros up to the next block
            if pos + left > end:
                return
            pos += left
            continue
        if pos + CHUNK_HEADER.size > end:
            return
        crc, length, kind = CHUNK_HEADER.unpack_from(buf, pos - offset)
        if kind == 0 and length == 0:  # zero padding (preallocated or padded block)
            if pos + left > end:
                return
            pos += left
            yield 0, None, pos
            continue
        stop = pos + CHUNK_HEADER.size + length
        if stop > end:
            return
        data = buf[pos - offset + CHUNK_HEADER.size:stop - offset]
        if kind not in _TYPE_CRC or zlib.crc32(data, _TYPE_CRC[kind]) != crc:
            if stop == end:
                return  # the tail may still be being written
            pos += left  # skip the damaged block, as leveldb's reader does
            yield 0, None, pos
            continue
        pos = stop
        yield kind, data, pos


def iter_raw_records(path: str | Path, offset: int = 0) -> Iterator[tuple[bytes, int]]:
    """``(record bytes, offset after it)`` for each complete record after ``offset``."""
    parts: list[bytes] | None = None
    for kind, data, end in iter_chunks(Path(path), offset):
        if kind == FULL:
            parts = None
            yield data, end
        elif kind == FIRST:
            parts = [data]
        elif kind in (MIDDLE, LAST) and parts is not None:
            parts.append(data)
            if kind == LAST:
                record, parts = b"".join(parts), None
                yield record, end
        else:  # skipped corruption, or a piece whose start was lost: resynchronise here
            parts = None
            yield b"", end


def _value(item: Any) -> Any:
    if item.value_json:
        return json.loads(item.value_json)
    which = item.WhichOneof("value") if hasattr(item, "WhichOneof") else None
    if which == "json":
        return json.loads(item.json)
    if which in ("boolean", "integer", "number", "text"):
        return getattr(item, which)
    return None


def _path(item: Any) -> tuple[str, ...]:
    return tuple(item.nested_key) if item.nested_key else (item.key,)


def _updates(items: Any) -> list[tuple[tuple[str, ...], Any]]:
    return [(_path(i), _value(i)) for i in items]


def _as_dict(record: Any) -> dict[str, Any] | None:
    kind = record.WhichOneof("record_type")
    if kind == "history":
        values = {".".join(_path(i)): _value(i) for i in record.history.item}
        step = record.history.step.num if record.history.HasField("step") else values.get("_step")
        return {"type": "history", "step": step, "values": values}
    if kind in ("config", "summary"):
        body = getattr(record, kind)
        return {"type": kind, "update": _updates(body.update),
                "remove": [_path(i) for i in body.remove]}
    if kind == "run":
        r = record.run
        return {"type": "run", "run_id": r.run_id, "project": r.project, "entity": r.entity,
                "name": r.display_name, "group": r.run_group, "job_type": r.job_type,
                "notes": r.notes, "tags": list(r.tags), "sweep_id": r.sweep_id,
                "start_time": r.start_time.seconds + r.start_time.nanos / 1e9,
                "config": _updates(r.config.update)}
    if kind == "exit":
        return {"type": "exit", "exit_code": record.exit.exit_code}
    if kind == "artifact":
        a = record.artifact
        return {"type": "artifact", "name": a.name, "artifact_type": a.type,
                "files": [e.path for e in a.manifest.contents]}
    return None  # telemetry, environment, files, output, stats...: not part of the run's data


def read_records(path: str | Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The run's records after ``offset`` as dicts, and the offset to read on from.

    Record dicts have a ``type``: ``run`` (run_id, project, name, group, job_type, notes, tags,
    sweep_id, config updates), ``config`` / ``summary`` (``update``: [(key path, value)],
    ``remove``: [key path]), ``history`` (``step``, ``values``: {key: value} with W&B's own
    ``_step``/``_timestamp``/``_runtime``; nested keys joined with '.'), ``exit`` (exit_code),
    ``artifact`` (name, artifact_type, files). Other record kinds are skipped.
    """
    from wandb.proto import wandb_internal_pb2

    out: list[dict[str, Any]] = []
    for raw, end in iter_raw_records(path, offset):
        offset = end
        if not raw:
            continue
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        as_dict = _as_dict(record)
        if as_dict is not None:
            out.append(as_dict)
    return out, offset


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        node = tree.get(key)
        tree = tree[key] = node if isinstance(node, dict) else {}
    tree[path[-1]] = value


def _remove(tree: dict[str, Any], path: tuple[str, ...]) -> None:
    for key in path[:-1]:
        tree = tree.get(key)
        if not isinstance(tree, dict):
            return
    tree.pop(path[-1], None)


class WandbRunFile:
    """A ``.wandb`` file folded into the run's state; ``update()`` reads what was added since.

    ``config`` and ``summary`` are nested dicts without W&B's internal ``_wandb`` entry;
    ``history`` is a list of rows ``{"_step": n, key: value, ...}``; ``run`` holds the run record's
    fields; ``exit_code`` is None until the run finished.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.offset = 0
        self.run: dict[str, Any] = {}
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.history: list[dict[str, Any]] = []
        self.artifacts: list[dict[str, Any]] = []
        self.exit_code: int | None = None

    def update(self) -> list[dict[str, Any]]:
        """Fold in the records written since the last call; returns them."""
        records, self.offset = read_records(self.path, self.offset)
        for r in records:
            kind = r["type"]
            if kind == "run":
                self.run = {k: v for k, v in r.items() if k not in ("type", "config")}
                self._apply(self.config, r["config"], [])
            elif kind in ("config", "summary"):
                self._apply(getattr(self, kind), r["update"], r["remove"])
            elif kind == "history":
                row = {k: v for k, v in r["values"].items()}
                row["_step"] = r["step"]
                self.history.append(row)
            elif kind == "exit":
                self.exit_code = r["exit_code"]
            elif kind == "artifact":
                self.artifacts.append(r)
        return records

    @staticmethod
    def _apply(tree: dict[str, Any], update: list, remove: list) -> None:
        for path, value in update:
            if path[0] != "_wandb":
                _set(tree, path, value)
        for path in remove:
            _remove(tree, path)


def exit_code(path: str | Path) -> int | None:
    """The run's exit code once its exit record is written (it is among the last records), else
    None. Reads only the file's last two blocks, so it is cheap to poll."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    start = max(0, (size // BLOCK - 1) * BLOCK)  # a block starts with a chunk header
    records, _ = read_records(path, start)
    codes = [r["exit_code"] for r in records if r["type"] == "exit"]
    return codes[-1] if codes else None


def find_run_files(root: str | Path) -> list[Path]:
    """Every ``run-*.wandb`` file under ``root`` (a run's ``wandb`` dir, or any dir above it)."""
    return sorted(Path(root).rglob("run-*.wandb"))


def read_run(path: str | Path) -> WandbRunFile:
    """The whole run file at ``path`` read at once."""
    run = WandbRunFile(path)
    run.update()
    return run


__all__ = ["WandbRunFile", "exit_code", "find_run_files", "iter_raw_records", "read_records", "read_run"]
