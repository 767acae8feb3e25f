"""Mirroring a run's stream to logging backends on a background thread.

The training thread only puts events on a queue; a slow backend (W&B, TensorBoard) costs it a
queue put. A backend that raises, when built or at any call, is disabled for the rest of the run
with one warning naming it; the others and the tracker's record go on.
"""

from __future__ import annotations

import queue
import sys
import threading
from typing import Any, Callable

from exptrack_core.plugin.interfaces import RunInfo

_STOP = object()


class Fanout:
    def __init__(self, factories: dict[str, Callable[..., Any]], run: RunInfo,
                 options: dict[str, dict[str, Any]] | None = None):
        self.failed: dict[str, str] = {}
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._backends: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        if factories:
            self._thread = threading.Thread(
                target=self._work, args=(factories, run, options or {}), name="exptrack-fanout",
                daemon=True)
            self._thread.start()

    def __bool__(self) -> bool:
        return self._thread is not None

    def send(self, method: str, *args: Any) -> None:
        if self._thread is not None:
            self._queue.put((method, args))

    def close(self, status: str, timeout: float | None = None) -> None:
        """Finish every backend with ``status`` and wait for the queue to drain."""
        if self._thread is None:
            return
        self._queue.put(("finish", (status,)))
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def _disable(self, name: str, what: str, exc: BaseException) -> None:
        self._backends.pop(name, None)
        self.failed[name] = f"{type(exc).__name__}: {exc}"
        print(f"exptrack: warning: backend {name!r} failed in {what} and is disabled for this run "
              f"({type(exc).__name__}: {exc}); the local record is unaffected", file=sys.stderr)

    def _work(self, factories: dict[str, Callable[..., Any]], run: RunInfo,
              options: dict[str, dict[str, Any]]) -> None:
        for name, factory in factories.items():
            try:
                self._backends[name] = factory(run, options.get(name, {}))
            except Exception as exc:
                self._disable(name, "start", exc)
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            method, args = item
            for name, backend in list(self._backends.items()):
                try:
                    getattr(backend, method)(*args)
                except Exception as exc:
                    self._disable(name, method, exc)


__all__ = ["Fanout"]
