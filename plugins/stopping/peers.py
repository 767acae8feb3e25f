"""The median stopper's ended peers, kept so a verdict at any step is a lookup, not a loop.

A peer counts at step ``s`` when its last step is ``>= s``, with its best value up to ``s``
(``MedianStopper.peers_best``). Between two consecutive steps that some peer logged, that
multiset does not change, so the ended peers are kept as one sorted array per class of steps:
below the first step, at each step, and strictly between each step and the next. A verdict looks
up the class of its step and takes the median of that array merged with the running peers'
values (``median_of``), without sorting or visiting the ended peers. Built by the controller as
trials end (``fold``), packed into the sweep's snapshot, loaded by a trial in one copy.
"""

from __future__ import annotations

import json
import sys
from array import array
from bisect import bisect_left, bisect_right, insort
from typing import Sequence

_MAX_VALUES = 4_000_000  # beyond this (32 MB) a snapshot would not load in a millisecond: none


class EndedPeers:
    def __init__(self) -> None:
        self.steps: list[int] = []        # every step an ended peer logged, ascending
        self.below = array("d")           # steps before the first: each peer's overall best
        self.at: list[array] = []         # at steps[i]
        self.after: list[array] = []      # strictly between steps[i] and steps[i + 1]

    def fold(self, steps: Sequence[int], bests: Sequence[float]) -> None:
        """Add an ended peer: its steps ascending, its best value up to each."""
        for s in dict.fromkeys(steps):
            self._split(s)
        last = steps[-1]
        insort(self.below, bests[-1])
        for i, s in enumerate(self.steps):
            if s > last:
                break
            value = bests[bisect_right(steps, s) - 1]
            insort(self.at[i], value)
            if i + 1 < len(self.steps) and self.steps[i + 1] <= last:
                insort(self.after[i], value)

    def _split(self, s: int) -> None:
        """Make ``s`` a step of its own: its class, and the one after it, start as copies of the
        class it fell in (no earlier peer logged ``s``, so none changes there)."""
        i = bisect_left(self.steps, s)
        if i < len(self.steps) and self.steps[i] == s:
            return
        if i == len(self.steps):  # past every peer's last step: nobody counts there (nor between
            same = array("d")     # the old last step and s: the old after-class was empty already)
        elif i == 0:
            same = self.below
        else:
            same = self.after[i - 1]
        self.steps.insert(i, s)
        self.at.insert(i, array("d", same))
        self.after.insert(i, array("d", same if i < len(self.steps) - 1 else ()))

    def values_at(self, step: int) -> array:
        """The ended peers' values that count at ``step``, sorted."""
        i = bisect_right(self.steps, step) - 1
        if i < 0:
            return self.below
        if self.steps[i] == step:
            return self.at[i]
        return self.after[i]

    # -- packed, for the snapshot ---------------------------------------------------------------
    def pack(self) -> bytes | None:
        arrays = [self.below] + self.at + self.after
        if sum(map(len, arrays)) > _MAX_VALUES:
            return None
        # a class equal to the one before it (no peer ended at that step) is written once: -1
        order = [self.below] + [a for pair in zip(self.at, self.after) for a in pair]
        counts, flat = [], array("d")
        for i, a in enumerate(order):
            if i and a == order[i - 1]:
                counts.append(-1)
            else:
                counts.append(len(a))
                flat.extend(a)
        if sys.byteorder != "little":
            flat.byteswap()
        head = json.dumps({"peers": 2, "steps": self.steps, "counts": counts})
        return head.encode() + b"\n" + flat.tobytes()

    @classmethod
    def unpack(cls, data: bytes) -> "EndedPeers | None":
        try:
            cut = data.index(b"\n")
            head = json.loads(data[:cut])
            steps, counts = head["steps"], head["counts"]
            flat = array("d")
            flat.frombytes(data[cut + 1:])
        except (ValueError, KeyError, TypeError):
            return None
        if head.get("peers") != 2 or not isinstance(steps, list) or not isinstance(counts, list) \
                or len(counts) != 1 + 2 * len(steps) \
                or not all(isinstance(n, int) and n >= -1 for n in counts) or counts[:1] == [-1] \
                or sum(n for n in counts if n > 0) != len(flat) \
                or not all(isinstance(s, int) for s in steps) or steps != sorted(set(steps)):
            return None
        if sys.byteorder != "little":
            flat.byteswap()
        arrays, at = [], 0
        for n in counts:  # read-only here: a class written once is shared by the ones equal to it
            if n == -1:
                arrays.append(arrays[-1])
            else:
                arrays.append(flat[at:at + n])
                at += n
        peers = cls()
        peers.steps, peers.below = steps, arrays[0]
        peers.at, peers.after = arrays[1::2], arrays[2::2]
        return peers


def median_of(a: Sequence[float], b: Sequence[float]) -> float:
    """``statistics.median`` of ``a`` and ``b`` together (both sorted, not both empty)."""
    n = len(a) + len(b)
    if n % 2:
        return _kth(a, b, n // 2)
    return (_kth(a, b, n // 2 - 1) + _kth(a, b, n // 2)) / 2


def _kth(a: Sequence[float], b: Sequence[float], k: int) -> float:
    """The ``k``-th smallest (from 0) of sorted ``a`` and ``b`` together: a binary search on how
    many of the first ``k + 1`` come from ``b``."""
    lo, hi = max(0, k + 1 - len(a)), min(k + 1, len(b))
    while lo < hi:
        i = (lo + hi) // 2
        if b[i] < a[k - i]:  # b's (i+1)-th is below a's (k+1-i)-th: more of them come from b
            lo = i + 1
        else:
            hi = i
    j = k + 1 - lo
    return max(b[lo - 1] if lo else -float("inf"), a[j - 1] if j else -float("inf"))


__all__ = ["EndedPeers", "median_of"]
