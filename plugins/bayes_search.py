"""Bayesian optimisation: the history is replayed into an in-memory Optuna study, which is asked once.

Each call builds the study afresh from the recorded trials, with a sampler seeded by
(seed, len(history)), so the suggestion depends on the history alone and a resumed sweep goes on
where it stopped. Running trials are replayed as running: the GP sampler then scores candidates
with q-batch expected improvement over them, and TPE with ``constant_liar``, so parallel workers
do not all probe the same point. Failed trials and non-finite values are imputed from the
completed ones (``metric.impute``: worst by default) instead of breaking the model.

Options (``bayes:`` in the sweep config):

- ``sampler``: ``auto`` (default: GP when no parameter is categorical, TPE otherwise), ``gp``, ``tpe``
- ``n_startup_trials``: the first trials, drawn from a seeded Latin hypercube before the model
  takes over (default 10; the model also waits for that many completed trials)
"""

from __future__ import annotations

import hashlib
import math
import secrets
import warnings
from typing import Any, Mapping

from exptrack_core.errors import ExptrackError
from exptrack_core.space import ParamSpace

SAMPLERS = ("auto", "gp", "tpe")
DEFAULT_STARTUP = 10
_OPTIONS = ("sampler", "n_startup_trials")


class BayesSearch:
    """``suggest(history)``: the next point from a GP or TPE model of the recorded trials."""

    def __init__(self, space: ParamSpace, config: Mapping[str, Any] | None = None,
                 seed: int | None = None):
        config = dict(config or {})
        metric = config.get("metric") or {}
        if not metric.get("name"):
            raise ExptrackError("method bayes needs a metric to optimise, e.g. "
                                "metric: {name: val_loss, goal: minimize}")
        self.space = space
        self.goal = metric.get("goal", "minimize")
        self.impute = metric.get("impute", "worst")
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
        if self.sampler == "auto":
            self.sampler = "tpe" if any(s.is_categorical for s in space.searchable) else "gp"
        self.n_startup = options.get("n_startup_trials", DEFAULT_STARTUP)
        if isinstance(self.n_startup, bool) or not isinstance(self.n_startup, int) \
                or self.n_startup < 0:
            raise ExptrackError(f"bayes.n_startup_trials: must be an integer >= 0, "
                                f"got {self.n_startup!r}")
        from .optuna_space import OptunaSpace

        self._ospace = OptunaSpace(space)  # imports optuna: a missing install fails here

    def suggest(self, history: list[dict[str, Any]]) -> dict[str, Any] | None:
        import optuna

        ospace = self._ospace
        if not ospace.dists:  # nothing to search: every parameter is constant
            return ospace.from_internal({})
        if len(history) < self.n_startup:  # a space-filling start gives the model a better first fit
            from .optuna_space import latin_hypercube

            u = latin_hypercube(self.seed, self.n_startup, len(history), len(ospace.dists))
            return ospace.from_unit(u)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        seed = _derive_seed(self.seed, len(history))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study = optuna.create_study(
                direction="maximize" if self.goal == "maximize" else "minimize",
                sampler=self._make_sampler(optuna, seed))
            study.add_trials(self._replay(optuna, history))
            trial = study.ask(ospace.dists)
        return ospace.from_internal(trial.params)

    def _make_sampler(self, optuna: Any, seed: int) -> Any:
        startup = optuna.samplers.RandomSampler(seed=seed)
        if self.sampler == "gp":
            return optuna.samplers.GPSampler(seed=seed, independent_sampler=startup,
                                             n_startup_trials=self.n_startup,
                                             warn_independent_sampling=False)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.n_startup,
                                          constant_liar=True, multivariate=True)

    def _replay(self, optuna: Any, history: list[dict[str, Any]]) -> list[Any]:
        from optuna.trial import TrialState, create_trial

        finite = [float(t["value"]) for t in history
                  if t.get("status") == "completed" and _finite(t.get("value"))]
        worst = (min if self.goal == "maximize" else max)(finite) if finite else None
        best = (max if self.goal == "maximize" else min)(finite) if finite else None
        trials = []
        for t in history:
            params = self._ospace.to_internal(t.get("params") or {})
            status = t.get("status")
            if params is None or status not in ("running", "completed", "pruned", "failed"):
                continue  # killed trials say nothing about the objective
            if status == "running":
                trials.append(create_trial(state=TrialState.RUNNING, params=params,
                                           distributions=self._ospace.dists))
                continue
            value = t.get("value")
            if not _finite(value) or (status == "failed" and self.impute != "latest"):
                value = best if self.impute == "best" else worst
            if value is None:
                continue  # nothing completed yet to impute from
            trials.append(create_trial(state=TrialState.COMPLETE, value=float(value),
                                       params=params, distributions=self._ospace.dists))
        return trials


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _derive_seed(seed: int, k: int) -> int:
    digest = hashlib.sha256(f"exptrack-bayes:{seed}:{k}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


__all__ = ["BayesSearch", "DEFAULT_STARTUP", "SAMPLERS"]
