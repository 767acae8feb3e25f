"""Bayesian optimisation: one Optuna study kept alive across calls, fed from the sweep's history.

The strategy holds one in-memory study and its sampler. Each ``suggest(history)`` checks whether
the history extends what the study already knows (the same trials in the same order, running ones
that have since ended, new ones at the end): then it only tells the study the news and asks once,
exactly as Optuna's own ask/tell loop would, so the sampler keeps its random stream and its
warm-started kernel fit. Anything else (a fresh process resuming a sweep, a different history, an
imputed value that moved) rebuilds the study from the history, with the sampler seeded by
(seed, len(history)), so the suggestion still depends on the history alone and a resumed sweep
goes on where it stopped.

Running trials stay running in the study: the GP sampler then scores candidates with q-batch
expected improvement over them, and TPE with ``constant_liar``, so parallel workers do not all
probe the same point. Failed trials and non-finite values are imputed from the completed ones
(``metric.impute``: worst by default) instead of breaking the model.

Options (``bayes:`` in the sweep config):

- ``sampler``: ``auto`` (default: GP when no parameter is categorical, TPE otherwise; NSGA-II for
  a multi-objective sweep), ``gp``, ``tpe``, ``nsga2``

A multi-objective sweep (``metric:`` a list) runs a study with one direction per objective; each
trial's values come from its ``TrialView.values`` (the sweep reads every objective's last value),
imputed per objective as a single objective's value is.
- ``n_startup_trials``: the first trials, drawn by Optuna's seeded random sampler before the model
  takes over (default 10, Optuna's own; the model waits for that many completed trials)
"""

from __future__ import annotations

import hashlib
import math
import secrets
import warnings
from typing import Any, Mapping, Sequence

from exptrack_core.errors import ExptrackError
from exptrack_core.plugin.interfaces import TrialView
from exptrack_core.sweep.space import ParamSpace

SAMPLERS = ("auto", "gp", "tpe", "nsga2")
MULTI_SAMPLERS = ("auto", "tpe", "nsga2")
DEFAULT_STARTUP = 10
_OPTIONS = ("sampler", "n_startup_trials")
RUNNING = "running"  # a record's state: RUNNING, a float (its value as the model sees it) or None

Record = tuple  # (key: tuple of internal values | None, state: RUNNING | float | None)


class BayesSearch:
    """``suggest(history, trial_id=)``: the next point from a GP or TPE model of the recorded
    trials. The sweep says which trial each suggestion is for, so when that trial shows up in the
    history it is told to the study as the same Optuna trial, even if another trial got the same
    values."""

    def __init__(self, space: ParamSpace, config: Mapping[str, Any] | None = None,
                 seed: int | None = None):
        from exptrack_core.sweep.keys import objectives_of

        config = dict(config or {})
        objectives = objectives_of(config)
        if not objectives or not objectives[0].get("name"):
            raise ExptrackError("method bayes needs a metric to optimise, e.g. "
                                "metric: {name: val_loss, goal: minimize}")
        metric = objectives[0]
        self.space = space
        self.goal = metric.get("goal", "minimize")
        self.impute = metric.get("impute", "worst")
        # several objectives: their names and goals, in order (one Optuna direction each)
        self.objectives = [(o["name"], o.get("goal", "minimize")) for o in objectives] \
            if len(objectives) > 1 else []
        self.seed = secrets.randbits(32) if seed is None else seed
        options = dict(config.get("bayes") or {})
        for key in options:
            if key not in _OPTIONS:
                raise ExptrackError(f"bayes.{key}: unknown option {key!r}; accepted: "
                                    f"{', '.join(_OPTIONS)}")
        self.sampler = options.get("sampler", "auto")
        if self.sampler not in SAMPLERS:
            raise ExptrackError(f"bayes.sampler: unknown sampler {self.sampler!r}; accepted: "
                                f"{', '.join(SAMPLERS)}")
        if self.objectives and self.sampler not in MULTI_SAMPLERS:
            raise ExptrackError(f"bayes.sampler: {self.sampler!r} optimises one objective; a "
                                f"multi-objective sweep accepts {', '.join(MULTI_SAMPLERS)}")
        if self.sampler == "auto" and self.objectives:
            self.sampler = "nsga2"  # Optuna's multi-objective default
        elif self.sampler == "auto":
            self.sampler = "tpe" if any(s.is_categorical for s in space.searchable) else "gp"
        self.n_startup = options.get("n_startup_trials", DEFAULT_STARTUP)
        if isinstance(self.n_startup, bool) or not isinstance(self.n_startup, int) \
                or self.n_startup < 0:
            raise ExptrackError(f"bayes.n_startup_trials: must be an integer >= 0, "
                                f"got {self.n_startup!r}")
        from exptrack_plugins.search.optuna_space import OptunaSpace

        self._ospace = OptunaSpace(space)  # imports optuna: a missing install fails here
        self._study: Any = None
        self._known: list[Record] = []            # one per history entry the study has seen
        self._numbers: list[int | None] = []      # its Optuna trial number (None: not in the study)
        # suggested, not yet seen in the history: the Optuna trial number by the trial id the
        # sweep gave (suggest(..., trial_id=)), or by the history position the suggestion will
        # take (len(history)) for a caller that gives none
        self._asked: dict[str | int, int] = {}
        self.rebuilds = 0                         # how often the study was rebuilt (for tests)

    def suggest(self, history: Sequence[TrialView], trial_id: str | None = None
                ) -> dict[str, Any] | None:
        import optuna

        ospace = self._ospace
        if not ospace.dists:  # nothing to search: every parameter is constant
            return ospace.from_internal({})
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        records = self._records(history)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if self._study is None or not self._extends(records):
                self._rebuild(optuna, records)
            else:
                self._advance(optuna, records, [t.get("trial_id") for t in history])
            slot = trial_id if trial_id is not None else len(history)
            # asked again for the same trial: the earlier suggestion was never launched
            self._end(optuna, self._asked.pop(slot, None), None)
            trial = self._study.ask(ospace.dists)
        self._asked[slot] = trial.number
        return ospace.from_internal(trial.params)

    # -- the history as the model sees it --------------------------------------------------------
    def _goals(self) -> list[str]:
        return [g for _, g in self.objectives] or [self.goal]

    def _vector(self, t: TrialView) -> list[Any]:
        """The trial's objective values: (value,), or every objective's from ``values``."""
        if not self.objectives:
            return [t.get("value")]
        values = t.get("values") or {}
        return [values.get(name) for name, _ in self.objectives]

    def _records(self, history: Sequence[TrialView]) -> list[Record]:
        done = [self._vector(t) for t in history if t.get("status") == "completed"]
        columns = [[float(v[j]) for v in done if _finite(v[j])] for j in range(len(self._goals()))]
        worst = [((min if g == "maximize" else max)(c) if c else None)
                 for g, c in zip(self._goals(), columns)]
        best = [((max if g == "maximize" else min)(c) if c else None)
                for g, c in zip(self._goals(), columns)]
        records: list[Record] = []
        for t in history:
            params = self._ospace.to_internal(t.get("params") or {})
            status = t.get("status")
            key = None if params is None else tuple(params.values())
            if key is None or status not in ("running", "completed", "pruned", "failed"):
                records.append((key, None))  # killed trials say nothing about the objective
                continue
            if status == "running":
                records.append((key, RUNNING))
                continue
            vector = []
            for j, value in enumerate(self._vector(t)):
                if not _finite(value) or (status == "failed" and self.impute != "latest"):
                    value = best[j] if self.impute == "best" else worst[j]
                vector.append(None if value is None else float(value))
            if None in vector:
                records.append((key, None))
            else:
                records.append((key, tuple(vector) if self.objectives else vector[0]))
        return records

    # -- keeping the study in step ---------------------------------------------------------------
    def _extends(self, records: list[Record]) -> bool:
        """Same trials in the same order; only running ones may have changed state."""
        if len(records) < len(self._known):
            return False
        return all(old[0] == new[0] and (old[1] == new[1] or old[1] == RUNNING)
                   for old, new in zip(self._known, records))

    def _advance(self, optuna: Any, records: list[Record], ids: list[str | None]) -> None:
        for i, (old, new) in enumerate(zip(self._known, records)):
            if old[1] == RUNNING and new[1] != RUNNING:
                self._end(optuna, self._numbers[i], new[1])
                self._known[i] = new  # told once: the next suggest must not tell it again
        for position in range(len(self._known), len(records)):
            key, state = records[position]
            slot = ids[position] if ids[position] in self._asked else position
            number = self._asked.pop(slot, None)
            if number is not None:
                if state != RUNNING:
                    self._end(optuna, number, state)
            elif state is not None:
                number = self._add(optuna, key, state)
            self._known.append((key, state))
            self._numbers.append(number)
        for number in self._asked.values():  # suggestions the sweep did not launch
            self._end(optuna, number, None)
        self._asked = {}

    def _rebuild(self, optuna: Any, records: list[Record]) -> None:
        # An empty history starts exactly as Optuna's own loop with this seed; a longer one takes a
        # seed of its own, so a resumed sweep does not replay the random start it already ran.
        seed = self.seed if not records else _derive_seed(self.seed, len(records))
        self._study = optuna.create_study(
            directions=["maximize" if g == "maximize" else "minimize" for g in self._goals()],
            sampler=self._make_sampler(optuna, seed))
        self._known, self._numbers, self._asked = [], [], {}
        self.rebuilds += 1
        for key, state in records:
            self._known.append((key, state))
            self._numbers.append(None if state is None else self._add(optuna, key, state))

    def _add(self, optuna: Any, key: tuple, state: Any) -> int:
        from optuna.trial import TrialState, create_trial

        params = dict(zip(self._ospace.dists, key))
        if state == RUNNING:
            trial = create_trial(state=TrialState.RUNNING, params=params,
                                 distributions=self._ospace.dists)
        else:
            trial = create_trial(state=TrialState.COMPLETE, values=list(self._as_values(state)),
                                 params=params, distributions=self._ospace.dists)
        self._study.add_trial(trial)
        return len(self._study.get_trials(deepcopy=False)) - 1

    def _end(self, optuna: Any, number: int | None, state: Any) -> None:
        if number is None:
            return
        if state is None:  # killed, or failed with nothing to impute from: out of the model
            self._study.tell(number, state=optuna.trial.TrialState.FAIL)
        else:
            self._study.tell(number, list(self._as_values(state)))

    def _as_values(self, state: Any) -> tuple:
        return tuple(state) if isinstance(state, tuple) else (state,)

    def _make_sampler(self, optuna: Any, seed: int) -> Any:
        startup = optuna.samplers.RandomSampler(seed=seed)
        if self.sampler == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed)
        if self.sampler == "gp":
            return optuna.samplers.GPSampler(seed=seed, independent_sampler=startup,
                                             n_startup_trials=self.n_startup,
                                             warn_independent_sampling=False)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.n_startup,
                                          constant_liar=True, multivariate=True)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _derive_seed(seed: int, k: int) -> int:
    digest = hashlib.sha256(f"exptrack-bayes:{seed}:{k}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


__all__ = ["BayesSearch", "DEFAULT_STARTUP", "SAMPLERS"]
