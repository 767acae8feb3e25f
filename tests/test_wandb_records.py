"""Reading the .wandb file an unchanged W&B training script writes offline, whole or as it grows."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap

import pytest

from exptrack import ExptrackError
from exptrack_plugins.wandb.records import (WandbRunFile, find_run_files, iter_raw_records,
                                         read_records, read_run)

W_AND_B_SCRIPT = textwrap.dedent("""
    import wandb
    run = wandb.init(project="digits", name="baseline", group="sweep-1", job_type="train",
                     notes="first try", tags=["team:ml"], dir="out", mode="offline",
                     config={"train": {"lr": 0.001, "epochs": 300}, "model": "resnet18",
                             "long_note": "x" * 70000},
                     settings=wandb.Settings(silent=True, console="off"))
    for step in range(300):
        run.log({"train/loss": 1.0 / (step + 1), "val_acc": step / 300}, step=step)
    run.log({"val_acc": 0.5}, step=299)          # a second log at the same step joins its row
    run.config.update({"train": {"lr": 0.001, "epochs": 300, "warmup": 5}}, allow_val_change=True)
    run.summary["test_acc"] = 0.93
    run.finish()
""")


@pytest.fixture(scope="module")
def wandb_file(tmp_path_factory):
    """The run file of a real W&B script, written offline by the real wandb library."""
    where = tmp_path_factory.mktemp("wandb_script")
    # its own wandb service: one inherited from this process (WANDB_SERVICE, set when a test here
    # used wandb) would resolve the script's relative dir against this process's cwd
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    proc = subprocess.run([sys.executable, "-c", W_AND_B_SCRIPT], cwd=where, timeout=120,
                          env={**env, "WANDB_MODE": "offline"}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    files = find_run_files(where / "out")
    assert len(files) == 1
    return files[0]


def test_a_wandb_scripts_run_reads_back_as_config_history_and_summary(wandb_file):
    run = read_run(wandb_file)
    assert run.run["name"] == "baseline" and run.run["project"] == "digits"
    assert run.run["group"] == "sweep-1" and run.run["job_type"] == "train"
    assert run.run["notes"] == "first try" and run.run["tags"] == ["team:ml"]
    assert run.config["train"] == {"lr": 0.001, "epochs": 300, "warmup": 5}
    assert run.config["model"] == "resnet18" and len(run.config["long_note"]) == 70000
    assert [row["_step"] for row in run.history] == list(range(300))
    assert run.history[3]["train/loss"] == pytest.approx(0.25)
    assert run.history[-1]["val_acc"] == 0.5 and run.history[-1]["train/loss"] == pytest.approx(1 / 300)
    assert run.summary["test_acc"] == 0.93 and run.summary["val_acc"] == 0.5
    assert "_wandb" not in run.config and "_wandb" not in run.summary
    assert run.exit_code == 0


def test_the_file_spans_blocks_and_a_big_record_is_split_across_them(wandb_file):
    assert wandb_file.stat().st_size > 3 * 32768
    sizes = [len(raw) for raw, _ in iter_raw_records(wandb_file)]
    assert max(sizes) > 70000  # the run record with the 70 kB config value, over three blocks


def test_reading_a_growing_file_piece_by_piece_gives_the_same_records(wandb_file, tmp_path):
    data = wandb_file.read_bytes()
    whole, end = read_records(wandb_file)
    assert end == len(data)
    growing = tmp_path / "run-growing.wandb"
    growing.write_bytes(b"")
    rng = random.Random(7)
    got, offset, written = [], 0, 0
    while written < len(data):
        written = min(len(data), written + rng.choice([1, 3, 7, 500, 4096, 32768, 40000]))
        growing.write_bytes(data[:written])
        records, offset = read_records(growing, offset)
        got.extend(records)
        assert offset <= written
    assert got == whole


def test_a_torn_tail_is_left_for_the_next_read(wandb_file, tmp_path):
    data = wandb_file.read_bytes()
    torn = tmp_path / "run-torn.wandb"
    torn.write_bytes(data[: len(data) - 10])  # the last record lacks its end
    records, offset = read_records(torn)
    assert offset < len(data) - 10
    assert records == read_records(wandb_file)[0][: len(records)]
    torn.write_bytes(data)
    rest, offset = read_records(torn, offset)
    assert offset == len(data) and rest and rest[-1]["type"] == "exit"


def test_a_damaged_block_is_skipped_and_reading_goes_on(wandb_file, tmp_path):
    data = bytearray(wandb_file.read_bytes())
    data[4 * 32768 + 100] ^= 0xFF  # flip a byte inside the fifth block (history rows)
    damaged = tmp_path / "run-damaged.wandb"
    damaged.write_bytes(bytes(data))
    run = WandbRunFile(damaged)
    run.update()
    steps = [row["_step"] for row in run.history]
    assert 0 < len(steps) < 300 and steps[-1] == 299 and run.exit_code == 0


def test_a_file_that_is_not_a_wandb_run_is_refused_by_name(tmp_path):
    other = tmp_path / "notes.wandb"
    other.write_bytes(b"hello world, not a run")
    with pytest.raises(ExptrackError, match="notes.wandb.*not a W&B run file"):
        read_records(other)


def test_an_empty_file_just_created_has_nothing_yet(tmp_path):
    empty = tmp_path / "run-new.wandb"
    empty.write_bytes(b"")
    assert read_records(empty) == ([], 0)
