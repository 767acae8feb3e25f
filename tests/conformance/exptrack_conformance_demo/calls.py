"""Every call the core makes on this package's objects, appended to ``$CONFORMANCE_CALLS``
(object, method, how many positional arguments, which keywords): the test binds each one to the
Protocol's signature."""

from __future__ import annotations

import json
import os


def recorded(kind: str):
    def decorate(method):
        def call(self, *args, **kwargs):
            log = os.environ.get("CONFORMANCE_CALLS")
            if log:
                line = {"object": kind, "method": method.__name__, "args": len(args),
                        "kwargs": sorted(kwargs)}
                with open(log, "a") as f:
                    f.write(json.dumps(line) + "\n")
            return method(self, *args, **kwargs)

        call.__name__ = method.__name__
        return call
    return decorate
