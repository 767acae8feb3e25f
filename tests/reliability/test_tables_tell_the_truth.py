"""Tables that tell the truth (issue 11, section 4): a metric named like a fixed column, runs made
under three time zones, boolean filters, a non-positive --limit and an ambiguous run-id prefix."""

from __future__ import annotations

import json

import pytest

from ..conftest import assert_one_line_error, run_cli, run_python
from .helpers import count, snapshot, tree_diff

MAKE_RUN = """
import exptrack, sys
with exptrack.init("tz", params={"order": int(sys.argv[1]) if len(sys.argv) > 1 else {order},
                                 "train": {"crash": {crash}}}) as run:
    run.log({logged}, step=0)
"""


def make_run(workdir, order, *, crash=False, logged='{"val_acc": 0.5}', tz="UTC"):
    code = MAKE_RUN.replace("{order}", str(order)).replace("{crash}", str(crash)).replace(
        "{logged}", logged)
    proc = run_python(code, workdir, env={"TZ": tz})
    assert proc.returncode == 0, proc.stderr


def runs_json(workdir, *args, tz="UTC"):
    proc = run_cli("runs", "--json", *args, cwd=workdir, env={"TZ": tz})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_metric_named_like_a_fixed_column_keeps_the_column_and_shows_as_metric_name(workdir):
    make_run(workdir, 1, logged='{"run_id": 7.0, "status": 1.0, "created_at": 2.0, "val_acc": 0.9}')
    count("bad inputs", 3)
    [row] = runs_json(workdir)
    run_id = row["run_id"]
    assert run_id.startswith("20") and row["status"] == "completed"
    assert row["created_at"].endswith("+00:00")
    assert (row["metric:run_id"], row["metric:status"], row["metric:created_at"]) == (7.0, 1.0, 2.0)
    proc = run_cli("compare", "--format", "json", cwd=workdir)
    [cmp] = json.loads(proc.stdout)
    assert (cmp["run_id"], cmp["status"], cmp["metric:run_id"], cmp["metric:status"]) == \
        (run_id, "completed", 7.0, 1.0)
    table = run_cli("compare", "--sort-by", "metric:status", cwd=workdir)
    assert table.returncode == 0, table.stderr
    assert run_id in table.stdout and "metric:run_id" in table.stdout


def test_runs_made_in_order_under_three_time_zones_are_listed_in_that_order(workdir):
    zones = ["Asia/Tokyo", "UTC", "America/Los_Angeles"]  # local clocks: 22h, 13h, 05h
    for i, tz in enumerate(zones):
        make_run(workdir, i, tz=tz, logged='{"loss": 0.5}')
    count("faults", 3)  # three clocks
    listed = runs_json(workdir, tz="Europe/Berlin")
    orders = [json.loads((workdir / "experiments" / "tz" / r["run_id"] / "params.json")
                         .read_text())["order"] for r in listed]
    assert orders == [0, 1, 2]
    assert all(r["created_at"].endswith("+00:00") for r in listed)  # stored in UTC
    shown = run_cli("runs", cwd=workdir, env={"TZ": "Asia/Tokyo"}).stdout
    assert shown.count("+09:00") == 3  # shown in local time
    newest_first = run_cli(  # compare without a metric to rank by: the newest first
"compare", "--format", "csv", "--columns", "run_id,created_at",
                           cwd=workdir, env={"TZ": "Asia/Tokyo"}).stdout
    assert [line.split(",")[0] for line in newest_first.splitlines()[1:]] == \
        [r["run_id"] for r in reversed(listed)]


def test_an_old_record_without_an_offset_still_reads_in_its_place(workdir):
    make_run(workdir, 1)
    [run] = runs_json(workdir)
    meta = workdir / "experiments" / "tz" / run["run_id"] / "meta.json"
    record = json.loads(meta.read_text())
    record["created_at"] = "2020-01-01T00:00:00"  # as an old exptrack wrote it (local, no offset)
    meta.write_text(json.dumps(record))
    make_run(workdir, 2)
    listed = runs_json(workdir)
    assert [r["created_at"][:4] for r in listed] == ["2020", "20" + listed[1]["created_at"][2:4]]
    shown = run_cli("show", run["run_id"], cwd=workdir, env={"TZ": "UTC"})
    assert "created 2020-01-01T00:00:00+00:00" in shown.stdout


@pytest.mark.parametrize("spelling", ["false", "False", "FALSE"])
def test_a_boolean_filter_matches_as_yaml_and_json_booleans(workdir, spelling):
    make_run(workdir, 1, crash=False)
    make_run(workdir, 2, crash=True)
    count("bad inputs")
    proc = run_cli("compare", "--format", "json", "--all-params", "--filter",
                   f"train.crash=={spelling}", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert [r["train.crash"] for r in json.loads(proc.stdout)] == [False]
    other = run_cli("compare", "--format", "json", "--all-params", "--filter",
                    f"train.crash!={spelling}", cwd=workdir)
    assert [r["train.crash"] for r in json.loads(other.stdout)] == [True]


@pytest.mark.parametrize("limit", ["-1", "0"])
def test_a_limit_that_is_not_positive_is_refused_in_one_line(workdir, limit):
    make_run(workdir, 1)
    make_run(workdir, 2)
    before = snapshot(workdir)
    proc = run_cli("compare", "--limit", limit, cwd=workdir)
    count("bad inputs")
    assert_one_line_error(proc, f"invalid --limit {limit}", "positive integer")
    assert tree_diff(before, snapshot(workdir)) == []
    assert len(json.loads(run_cli("compare", "--format", "json", "--limit", "1",
                                  cwd=workdir).stdout)) == 1


def test_an_ambiguous_run_id_prefix_is_called_ambiguous_and_lists_the_matches(workdir):
    make_run(workdir, 1)
    make_run(workdir, 2)
    ids = [r["run_id"] for r in runs_json(workdir)]
    prefix = ids[0][:8]  # the day: both runs start with it
    assert all(i.startswith(prefix) for i in ids)
    for command in (["show", prefix], ["plot", "val_acc", prefix, "-o", "x.png"]):
        proc = run_cli(*command, cwd=workdir)
        count("bad inputs")
        assert_one_line_error(proc, f"ambiguous run id {prefix!r}", *ids)
        assert "unknown run id" not in proc.stderr
    assert run_cli("show", ids[0][:-1], cwd=workdir).returncode == 0  # a unique prefix still works
