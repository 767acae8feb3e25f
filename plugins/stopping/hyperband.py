"""Asynchronous Hyperband early stopping, with the semantics of W&B sweeps.

Followed: ``hyperband_stop_runs`` in ``wandb/sweeps`` ``src/sweeps/hyperband_stopping.py`` (as
released in ``sweeps`` 0.3.0, the version with ``strict``), defaults from its ``schema.json``
(``eta: 3``, ``strict: true``). In short:

- Bands are iteration counts. ``min_iter`` form: ``int(min_iter * eta**k)`` for k = 0, 1, ...
  ``max_iter`` form: ``int(max_iter / eta**k)`` for k = 1..s while it is >= 1, ascending.
- An iteration is one recorded value of the sweep metric: a trial's n-th value is iteration n
  (W&B counts the history rows that carry the metric). With steps logged 1, 2, 3... that is the
  step; with steps from 0 it is step + 1.
- Threshold at band b: the values at iteration b (``h[b - 1]``) of every trial that reached it,
  finished or running, the asking trial included, sorted best first, taken at index
  ``int(n / eta)``: a trial has to be in the top 1/eta to stay.
- A trial is judged at the highest band it has reached, against that band's threshold as it is
  now (asynchronous: later trials reaching the band can still stop it at its next report).
  ``strict: false`` compares its best value so far (``min(history)``); ``strict: true`` its
  value at the band. Stopped when strictly worse than the threshold.

One deliberate difference: W&B drops NaN/inf values from a history (which shifts the iteration
count); here they stay in place as the worst value, and a trial whose compared value is NaN/inf
is stopped at its band even when the threshold is itself NaN/inf (it has diverged).
"""

from __future__ import annotations

import json
import sys
from array import array
from bisect import bisect_left, insort
from typing import Any, Mapping

from exptrack_core.errors import ExptrackError

from exptrack_plugins.stopping.inputs import WORST, Changes, StopperConfig, goal_sign, oriented_curve

_MAX_BANDS = 100  # W&B computes 100 bands in the min_iter form
_BIGGEST_BAND = 2 ** 62


def hyperband_bands(*, eta: float, min_iter: int | None = None, max_iter: int | None = None,
                    s: int | None = None) -> tuple[int, ...]:
    """The iteration counts at which trials are compared, ascending, without repeats."""
    bands: list[int] = []
    if max_iter is not None:
        band = float(max_iter)
        for _ in range(s or 0):
            band /= eta
            if band < 1:
                break
            bands.append(int(band))
    elif min_iter is not None:
        band = float(min_iter)
        for _ in range(_MAX_BANDS):
            if band > _BIGGEST_BAND:
                break
            bands.append(int(band))
            band *= eta
    return tuple(sorted(set(bands)))


class HyperbandStopper:
    """Stops a trial that is not in the top ``1/eta`` of the trials that reached its band."""

    def __init__(self, config: Mapping[str, Any] | None, goal: str = "minimize"):
        cfg = StopperConfig(config, "hyperband", ("min_iter", "max_iter", "s", "eta", "strict"))
        self.sign = goal_sign(goal)
        self.goal = goal
        self.eta = cfg.number_above("eta", 3, 1)
        self.strict = cfg.flag("strict", True)
        if "max_iter" in cfg and "min_iter" in cfg:
            raise ExptrackError(
                "early_terminate has both min_iter and max_iter for hyperband; give either "
                "min_iter, or max_iter with s")
        if "max_iter" in cfg:
            if "s" not in cfg:
                raise ExptrackError(
                    "early_terminate.s is required with early_terminate.max_iter for hyperband "
                    "(the number of bands below max_iter), e.g. s: 2")
            self.bands = hyperband_bands(eta=self.eta, max_iter=cfg.positive_int("max_iter"),
                                         s=cfg.positive_int("s"))
            if not self.bands:
                raise ExptrackError(
                    f"early_terminate.max_iter={cfg.config['max_iter']!r} gives no band with "
                    f"eta={self.eta:g}: max_iter / eta must be >= 1; increase max_iter or "
                    "decrease eta")
        elif "min_iter" in cfg:
            self.bands = hyperband_bands(eta=self.eta, min_iter=cfg.positive_int("min_iter"))
        else:
            raise ExptrackError(
                "early_terminate for hyperband needs min_iter (e.g. min_iter: 3), or max_iter "
                "with s (e.g. max_iter: 27, s: 2)")
        self._base: dict[int, array] = {b: array("d") for b in self.bands}
        self._forget()

    def _forget(self) -> None:
        # kept between verdicts: each trial's oriented history, and per band the sorted values at
        # it of every trial that reached it, so a verdict costs the same however many trials ended;
        # the values of the trials a snapshot holds (``restore_snapshot``) are there from the start
        self._changes = Changes()
        self._histories: dict[str, list[float]] = {}
        self._at_band: dict[int, array] = {b: array("d", v) for b, v in self._base.items()}
        self._entered: dict[str, dict[int, float]] = {}

    # -- the optional snapshot interface (``exptrack.plugin.EarlyStopper``) ----------------------
    def snapshot_state(self, curves: Mapping[str, list[tuple[int, float]]]) -> bytes:
        """Per band, the sorted values at it of the trials in ``curves`` (ended trials, whose
        curves no longer change), as packed float64 arrays."""
        self._update(curves)
        head = {"hyperband": 1, "bands": list(self.bands),
                "counts": [len(self._at_band[b]) for b in self.bands]}
        body = [array("d", self._at_band[b]) for b in self.bands]
        if sys.byteorder != "little":
            for a in body:
                a.byteswap()
        return json.dumps(head).encode() + b"\n" + b"".join(a.tobytes() for a in body)

    def restore_snapshot(self, data: bytes) -> bool:
        """Start from ``snapshot_state``'s values: later verdicts, given curves without those
        trials, decide as if they were there. False (nothing changed) if ``data`` is not such a
        state for these bands."""
        try:
            cut = data.index(b"\n")
            head = json.loads(data[:cut])
            if head.get("hyperband") != 1 or tuple(head["bands"]) != self.bands:
                return False
            flat = array("d")
            flat.frombytes(data[cut + 1:])
        except (ValueError, KeyError, TypeError):
            return False
        if sys.byteorder != "little":
            flat.byteswap()
        counts = head["counts"]
        if len(counts) != len(self.bands) or sum(counts) != len(flat) or not all(
                isinstance(n, int) and n >= 0 for n in counts):
            return False
        base, at = {}, 0
        for band, n in zip(self.bands, counts):
            base[band], at = flat[at:at + n], at + n
        self._base = base
        self._forget()
        return True

    def _update(self, curves: Mapping[str, list[tuple[int, float]]]) -> None:
        fresh, changed = self._changes.since_last(curves)
        if fresh:
            changes = self._changes
            self._forget()
            self._changes = changes
        for tid in changed:
            history = self._histories[tid] = [v for _, v in oriented_curve(curves[tid], self.sign)]
            entered = self._entered.setdefault(tid, {})
            for band in self.bands:
                if band > len(history):
                    break
                value, old = history[band - 1], entered.get(band)
                if old == value:
                    continue
                at_band = self._at_band[band]
                if old is not None:  # a step logged out of order moved the value at the band
                    del at_band[bisect_left(at_band, old)]
                insort(at_band, value)
                entered[band] = value

    def threshold(self, band: int, histories: Mapping[str, list[float]]) -> float:
        """The value a trial at ``band`` must not be worse than (lower is better)."""
        at_band = sorted(h[band - 1] for h in histories.values() if len(h) >= band)
        if not at_band:
            return WORST
        return at_band[int((1.0 / self.eta) * len(at_band))]

    def should_stop(self, trial_id: str, curves: Mapping[str, list[tuple[int, float]]]) -> bool:
        self._update(curves)
        history = self._histories.get(trial_id) or []
        reached = [b for b in self.bands if b <= len(history)]
        if not reached:
            return False
        band = reached[-1]
        value = history[band - 1] if self.strict else min(history)
        at_band = self._at_band[band]  # what threshold() computes, kept sorted between verdicts
        return value == WORST or value > at_band[int((1.0 / self.eta) * len(at_band))]


__all__ = ["HyperbandStopper", "hyperband_bands"]
