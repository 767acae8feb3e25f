"""Program trials meet the trial adapters (``register_trial_adapters``): W&B scripts and the like.

Each adapter that handles a trial adds what its library's scripts expect to the trial's
environment and may follow the records the script writes in that library's own files, copying
them into the trial's run while it runs. The controller sees one follower per trial.
"""

from __future__ import annotations

from typing import Any

from exptrack_core.plugin.registry import get_registry
from exptrack_core.sweep.launch import TrialLaunch


class Followers:
    """The followers of one trial, polled and finished together."""

    def __init__(self, followers: list[Any]):
        self.followers = followers

    def poll(self) -> int:
        return sum(f.poll() for f in self.followers)

    def finish(self) -> None:
        for f in self.followers:
            f.finish()


def prepare_trial(trial: TrialLaunch, space: Any, tracker: Any) -> Followers | None:
    """Let every adapter that handles ``trial`` prepare it; what follows it, if anything."""
    followers = []
    for adapter in get_registry().trial_adapters():
        if adapter.handles(trial):
            adapter.prepare(trial, space)
            follower = adapter.follow(tracker, trial)
            if follower is not None:
                followers.append(follower)
    return Followers(followers) if followers else None


__all__ = ["Followers", "prepare_trial"]
