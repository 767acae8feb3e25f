"""The listing cache: it makes listing many runs fast and never shows a stale or hidden run."""

from __future__ import annotations

import json

import pytest

from exptrack_plugins.local import listing as local_listing
from exptrack_plugins.local.tracker import LocalTracker


@pytest.fixture
def cached(tmp_path, monkeypatch):
    """A tracker whose listings are cached from the first run on (no size or age threshold)."""
    monkeypatch.setenv(local_listing.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(local_listing, "MIN_RUNS", 0)
    monkeypatch.setattr(local_listing, "RACY_S", 0.0)
    return LocalTracker(tmp_path / "experiments")


def finished_run(tracker, params, val_acc):
    run_id = tracker.create_run("e", params=params)
    tracker.log_metrics(run_id, {"val_acc": val_acc}, 0, 0.0)
    tracker.set_status(run_id, "completed")
    tracker.close(run_id)
    return run_id


def cache_file(tracker):
    return local_listing.cache_path(str(tracker.root / "e"))


def test_a_second_listing_is_served_from_the_cache_with_the_same_runs(cached):
    ids = [finished_run(cached, {"lr": i}, i / 10) for i in range(3)]
    first = cached.list_runs("e")
    cache = json.loads(cache_file(cached).read_text())
    assert sorted(cache["runs"]) == sorted(ids)
    assert LocalTracker(cached.root).list_runs("e") == first


def test_a_run_changed_after_a_listing_is_listed_as_it_is_now(cached):
    run_id = finished_run(cached, {"lr": 1}, 0.5)
    cached.list_runs("e")
    cached.log_params(run_id, {"lr": 0.001, "note": "longer than before"})
    cached.set_status(run_id, "failed", note="changed later")
    (again,) = LocalTracker(cached.root).list_runs("e")
    assert again["params"] == {"lr": 0.001, "note": "longer than before"}
    assert again["status"] == "failed"


def test_a_run_created_or_deleted_after_a_listing_is_never_hidden_or_shown(cached):
    import shutil

    old = finished_run(cached, {"lr": 1}, 0.5)
    cached.list_runs("e")
    new = finished_run(cached, {"lr": 2}, 0.6)
    assert sorted(r["run_id"] for r in LocalTracker(cached.root).list_runs("e")) == sorted([old, new])
    shutil.rmtree(cached.run_dir(old))
    assert [r["run_id"] for r in LocalTracker(cached.root).list_runs("e")] == [new]


def test_a_corrupt_cache_is_ignored_and_rebuilt(cached):
    run_id = finished_run(cached, {"lr": 1}, 0.5)
    cached.list_runs("e")
    cache_file(cached).write_text('{"format": "exptrack-run-listing", "version": 1, "runs": {"x')
    assert [r["run_id"] for r in LocalTracker(cached.root).list_runs("e")] == [run_id]
    assert run_id in json.loads(cache_file(cached).read_text())["runs"]


def test_runs_written_within_the_last_seconds_are_not_cached(cached, monkeypatch):
    monkeypatch.setattr(local_listing, "RACY_S", 60.0)
    finished_run(cached, {"lr": 1}, 0.5)
    cached.list_runs("e")
    assert not cache_file(cached).exists()


def test_caching_can_be_turned_off(cached, monkeypatch):
    monkeypatch.setenv(local_listing.CACHE_ENV, "off")
    finished_run(cached, {"lr": 1}, 0.5)
    assert [r["params"] for r in cached.list_runs("e")] == [{"lr": 1}]
    assert local_listing.cache_path(str(cached.root / "e")) is None


def test_a_long_lived_reader_lists_every_change_made_between_its_listings(cached, monkeypatch):
    """`exptrack ui` keeps one tracker and lists every second or so, reusing the cache it parsed
    last: each listing still shows every run as its files are now, whoever changed them."""
    import shutil

    kept = finished_run(cached, {"lr": 1}, 0.5)
    gone = finished_run(cached, {"lr": 2}, 0.6)
    cached.list_runs("e")
    cached.log_params(kept, {"lr": 0.001})
    cached.set_status(kept, "failed", note="changed later")
    other = LocalTracker(cached.root)  # another process adds a run and rewrites the cache file
    new = finished_run(other, {"lr": 3}, 0.7)
    other.list_runs("e")
    shutil.rmtree(cached.run_dir(gone))
    again = cached.list_runs("e")
    assert {r["run_id"]: (r["status"], r["params"]) for r in again} == {
        kept: ("failed", {"lr": 0.001}), new: ("completed", {"lr": 3})}
    monkeypatch.setenv(local_listing.CACHE_ENV, "off")
    assert again == LocalTracker(cached.root).list_runs("e")  # as read from the run files alone
