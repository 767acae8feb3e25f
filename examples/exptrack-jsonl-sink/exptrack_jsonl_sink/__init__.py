"""exptrack plugin: the ``jsonl`` logging backend (see ``sink.py``)."""

from exptrack.plugin import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_backends(register):
    from .sink import JsonlSink

    register("jsonl", JsonlSink, "every event of a run as one JSON line in events.jsonl")


__all__ = ["register_backends"]
