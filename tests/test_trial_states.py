"""One state machine for a trial, written in the sweep's journal and replayed from an offset."""

from __future__ import annotations

import json
import os

import pytest

from exptrack_core.sweep.journal import SweepStore
from exptrack_core.sweep.states import (IllegalTransition, JournalReplay, TrialRecord, exit_state,
                                        exit_state_of, transition)

from .conftest import run_cli
from .sweep_helpers import PARAMS, make_project

ONE_POINT = (PARAMS.replace("epochs: 3", "epochs: 2")  # two points of a quick trial
             .replace("train.lr: {values: [0.001, 0.01, 0.1]}", "train.lr: {values: [0.001, 0.01]}")
             .replace("train.wd: {values: [0.0, 0.1]}", "train.wd: {value: 0.0}"))


@pytest.fixture
def store(tmp_path):
    return SweepStore.create(tmp_path, name="s", experiment="e", config={"method": "grid"})


@pytest.mark.parametrize("path", [
    ["running", "completed"], ["completed"], ["running", "pruned"], ["running", "killed"],
    ["crashed"], ["running", "timed_out"], ["running", "failed"],
])
def test_a_trial_starts_pending_and_ends_once(path):
    trial = TrialRecord("t1", "r1", {})
    assert trial.status == "pending"
    for state in path:
        transition(trial, state)
    assert trial.status == path[-1]


@pytest.mark.parametrize("path, refused", [
    (["running", "killed"], "completed"),      # a late finish of a trial already ended
    (["completed"], "failed"),
    (["running"], "pending"),
    (["running"], "running"),
    ([], "finished"),
])
def test_a_move_the_state_machine_does_not_allow_is_refused_naming_both_states(path, refused):
    trial = TrialRecord("t1", "r1", {})
    for state in path:
        transition(trial, state)
    before = trial.status
    with pytest.raises(IllegalTransition, match=f"trial t1 cannot go from {before} to '{refused}'"):
        transition(trial, refused)
    assert trial.status == before


@pytest.mark.parametrize("code, state", [
    (0, "completed"), (1, "failed"), (3, "failed"), (2, "failed"),
    (-9, "killed"), (-15, "killed"), (-2, "killed"), (130, "killed"), (137, "killed"),
    (143, "killed"), (129, "killed"), (-11, "failed"), (139, "failed"),
])
def test_an_exit_status_says_how_a_trial_that_did_not_record_its_end_ended(code, state):
    assert exit_state(code) == state


@pytest.mark.parametrize("recorded, code, kw, expected", [
    ("running", 0, {}, ("completed", None, True)),            # exited 0 without finishing its run
    ("completed", -15, {"timed_out": 2.0}, ("timed_out", "stopped after its time limit of 2s "
                                                         "(--trial-timeout)", True)),
    ("killed", -15, {"pruned": True}, ("pruned", "stopped early by the sweep's stopper", True)),
    ("completed", 0, {"pruned": True}, ("completed", None, False)),  # it ended by itself first
    ("killed", 143, {}, ("killed", None, False)),             # its own handler recorded it
    ("running", 3, {}, ("failed", "exit code 3: boom", True)),
    # its executor lost it (a Ray node died): no exit status was seen, whatever code it gives
    ("crashed", -9, {"lost": "node lost"}, ("crashed", "node lost", True)),
    ("running", -9, {"lost": "node lost"}, ("crashed", "node lost", True)),
    ("completed", -9, {"lost": "node lost"}, ("completed", None, False)),  # it had finished
])
def test_how_an_exited_trial_ends_follows_what_it_recorded_and_how_it_exited(recorded, code, kw,
                                                                             expected):
    assert exit_state_of(recorded, None, code, "boom" if code == 3 else None, **kw) == expected


def test_the_journal_refuses_to_end_a_trial_twice_and_writes_nothing_then(store):
    trial = TrialRecord("t1", "r1", {"x": 1})
    store.record_start(trial)
    store.record_launch(trial, {"pid": 1, "pgid": 1, "host": "h", "start": None})
    store.record_end(trial, "killed", None, "in flight when the sweep stopped")
    journal = (store.dir / "trials.jsonl").read_bytes()
    with pytest.raises(IllegalTransition):
        store.record_end(trial, "completed", 0.9)
    assert (store.dir / "trials.jsonl").read_bytes() == journal
    assert store.trials()["t1"].status == "killed"


def test_a_replay_reads_only_what_was_appended_since_its_last_update(store):
    replay = store.replay()
    one, two = TrialRecord("t1", "r1", {"x": 1}), TrialRecord("t2", "r2", {"x": 2}, attempt=2)
    store.record_start(one)
    store.record_launch(one, {"pid": 10, "pgid": 10, "host": "h", "start": "5"})
    assert [(t.trial_id, t.status) for t in replay.update()] == [("t1", "running")]
    assert replay.trials["t1"].process["pgid"] == 10
    offset = replay.offset
    store.record_start(two)
    store.record_end(one, "completed", 0.5)
    changed = replay.update()
    assert [(t.trial_id, t.status) for t in changed] == [("t2", "pending"), ("t1", "completed")]
    assert replay.trials["t2"].attempt == 2 and replay.trials["t1"].value == 0.5
    assert replay.offset > offset and replay.update() == []


def test_a_replay_leaves_a_torn_last_event_until_it_is_complete(store):
    path = store.dir / "trials.jsonl"
    replay = JournalReplay(path)
    event = json.dumps({"event": "start", "trial_id": "t1", "run_id": "r1", "params": {}}) + "\n"
    with open(path, "a") as f:
        f.write(event[:20])
    assert replay.update() == [] and replay.offset == 0
    with open(path, "a") as f:
        f.write(event[20:])
    assert [t.trial_id for t in replay.update()] == ["t1"]


def test_an_end_in_the_journal_that_the_state_machine_forbids_is_not_applied(store):
    trial = TrialRecord("t1", "r1", {})
    store.record_start(trial)
    store.record_end(trial, "completed", 0.9)
    with open(store.dir / "trials.jsonl", "a") as f:  # a stray second end, by hand
        f.write(json.dumps({"event": "end", "trial_id": "t1", "status": "failed"}) + "\n")
    assert store.trials()["t1"].status == "completed"


def test_each_launch_is_journaled_with_its_attempt_and_process(workdir):
    make_project(workdir, ONE_POINT)
    run_cli("sweep", "--quiet", check=True)
    (journal,) = (workdir / "experiments" / "_sweeps").glob("*/trials.jsonl")
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [e["event"] for e in events] == ["start", "launch", "end"] * 2
    starts = [e for e in events if e["event"] == "start"]
    launches = [e for e in events if e["event"] == "launch"]
    assert [e["attempt"] for e in starts] == [1, 1]
    assert all(e["status"] == "running" and e["process"]["host"] == os.uname().nodename
               and e["process"]["pgid"] == e["process"]["pid"] > 0 for e in launches)
    assert [e["status"] for e in events if e["event"] == "end"] == ["completed", "completed"]


def test_a_point_rerun_after_a_kill_is_its_next_attempt(workdir):
    make_project(workdir, ONE_POINT.replace("[0.001, 0.01]", "[0.01]"))
    (workdir / "train.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    run_cli("sweep", "--quiet", "--max-retries", "1")
    (journal,) = (workdir / "experiments" / "_sweeps").glob("*/trials.jsonl")
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [e["attempt"] for e in events if e["event"] == "start"] == [1, 2]
    assert [e["status"] for e in events if e["event"] == "end"] == ["killed", "failed"]


def test_resuming_a_sweep_that_has_nothing_left_to_do_leaves_sweep_json_alone(workdir):
    make_project(workdir, ONE_POINT)
    run_cli("sweep", "--quiet", check=True)
    (meta,) = (workdir / "experiments" / "_sweeps").glob("*/sweep.json")
    before, stamp = meta.read_bytes(), meta.stat().st_mtime_ns
    run_cli("sweep", "--resume", meta.parent.name, "--quiet", check=True)
    assert meta.read_bytes() == before and meta.stat().st_mtime_ns == stamp
    listed = json.loads(run_cli("sweeps", "--json", check=True).stdout)
    assert listed[0]["status"] == "completed" and listed[0]["trials"] == {"completed": 2}


def test_a_journaled_process_group_is_found_only_while_it_is_still_the_trials():
    import subprocess

    from exptrack_core.sweep.processes import group_alive, process_of

    child = subprocess.Popen(["sleep", "30"], start_new_session=True)  # leads its own group
    try:
        process = process_of(child.pid)
        assert process["pgid"] == child.pid and group_alive(process)
        assert not group_alive({**process, "start": "1"})  # the pid since reused by another
        assert not group_alive({**process, "host": "elsewhere"})
    finally:
        child.kill()
        child.wait()
    assert not group_alive(process)
