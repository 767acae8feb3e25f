"""``exptrack plugins``: what is loaded, from which distribution, providing what."""

from __future__ import annotations

import json
import sys

from exptrack_core.cli.output import render_table
from exptrack_core.plugin.registry import get_registry


def cmd_plugins(args) -> int:
    registry = get_registry()
    rows = []
    for info in sorted(registry.plugins.values(), key=lambda i: i.name):
        rows.append({
            "name": info.name,
            "families": sorted({p.family for p in info.provides}),
            "provides": [{"family": p.family, "name": p.name, "description": p.description}
                         for p in info.provides],
            "distribution": info.distribution,
            "version": info.version,
            "hooks": info.hooks,
        })
    broken = [{"name": b.name, "distribution": b.distribution, "error": b.error}
              for b in registry.broken]
    if args.json:
        json.dump({"plugins": rows, "broken": broken}, sys.stdout, indent=1)
        print()
        return 0
    table = [[r["name"], ", ".join(r["families"]),
              ", ".join(f"{p['family']}:{p['name']}" for p in r["provides"]),
              f"{r['distribution']} {r['version']}", ", ".join(r["hooks"])] for r in rows]
    render_table(["plugin", "family", "provides", "distribution", "hooks"], table)
    for b in broken:
        print(f"broken: {b['name']} ({b['distribution']}): {b['error']}")
    return 0


__all__ = ["cmd_plugins"]
