"""``exptrack plot --dvc``: the pipeline's DVC plots, drawn as PNG files without any network.

``dvc plots show`` writes HTML that loads Vega from a CDN, so offline it shows only the images.
This reads the plots that ``dvc.yaml`` declares (each stage's ``plots:`` outputs and the top-level
``plots:`` section), reads their data files as DVC does (TSV/CSV with a header, JSON/YAML lists
of records; a directory stands for every data file in it) and draws each with matplotlib after
its DVC template: ``linear``/``simple``/``smooth`` as lines, ``scatter``, ``confusion`` and
``confusion_normalized`` as a count matrix (x field across, y field down, as DVC draws them),
``bar_horizontal(_sorted)``. Image plots (``.png`` ...) are copied. Beside them, an
``index.html`` that loads nothing from elsewhere.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exptrack_core.errors import ExptrackError
from exptrack_core.params import parse_yaml, read_yaml_mapping

DATA_SUFFIXES = (".tsv", ".csv", ".json", ".yaml", ".yml")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg")
LINES = ("linear", "simple", "smooth")
TEMPLATES = LINES + ("scatter", "confusion", "confusion_normalized", "bar_horizontal",
                     "bar_horizontal_sorted")
INDEX_FIELD = "step"  # DVC numbers the rows under this name when a plot has no x
DEFAULT_OUT = Path("dvc_plots_offline")


@dataclass
class PlotSpec:
    path: Path                               # the data (or image) file, relative to the project
    props: dict[str, Any] = field(default_factory=dict)

    @property
    def is_image(self) -> bool:
        return self.path.suffix.lower() in IMAGE_SUFFIXES


def _entries(entry: Any) -> list[tuple[str, dict]]:
    """One ``plots:`` list item as (path, props) pairs: ``path``, ``{path: {props}}``, or a
    top-level ``{id: {y: {file: field(s)}, x: field or {file: field}}}``."""
    if isinstance(entry, str):
        return [(entry, {})]
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ExptrackError(f"dvc.yaml: cannot read the plots entry {entry!r}")
    (name, props), = entry.items()
    props = dict(props or {})
    if not isinstance(props.get("y"), dict):
        return [(str(name), props)]
    xs = props.get("x")
    return [(file, {**props, "y": fields,
                    "x": xs.get(file) if isinstance(xs, dict) else xs, "title": props.get("title", name)})
            for file, fields in props["y"].items()]


def declared(root: Path) -> list[PlotSpec]:
    """Every plot dvc.yaml declares, directories expanded, each file once, in declared order."""
    dvc_yaml = root / "dvc.yaml"
    if not dvc_yaml.is_file():
        raise ExptrackError(f"no dvc.yaml in {str(root.resolve())!r}: run exptrack plot --dvc "
                            "in the DVC project's root")
    data = read_yaml_mapping(dvc_yaml, "dvc.yaml")
    entries = [e for stage in (data.get("stages") or {}).values() if isinstance(stage, dict)
               for e in stage.get("plots") or []] + list(data.get("plots") or [])
    specs: dict[Path, PlotSpec] = {}
    for entry in entries:
        for name, props in _entries(entry):
            path = Path(name)
            files = sorted(p.relative_to(root) for p in (root / path).rglob("*")
                           if p.suffix.lower() in DATA_SUFFIXES + IMAGE_SUFFIXES) \
                if (root / path).is_dir() else [path]
            for f in files:
                specs.setdefault(f, PlotSpec(f, props))
    return list(specs.values())


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def read_rows(path: Path, props: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a plots data file, as DVC reads them."""
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix in (".tsv", ".csv"):
        reader = csv.reader(text.splitlines(), delimiter="\t" if suffix == ".tsv" else ",")
        lines = [line for line in reader if line]
        if props.get("header", True) is False:
            header = [str(i) for i in range(len(lines[0]) if lines else 0)]
        else:
            header, lines = (lines[0], lines[1:]) if lines else ([], [])
        return [dict(zip(header, line)) for line in lines]
    data = json.loads(text) if suffix == ".json" else parse_yaml(text, str(path))
    if isinstance(data, dict):  # DVC takes the first list of records inside a mapping
        data = next((v for v in data.values() if isinstance(v, list)), [])
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ExptrackError(f"{str(path)!r} is not a list of records (what DVC plots read)")
    return data


def _fields(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def draw(spec: PlotSpec, rows: list[dict[str, Any]]):
    """The plot's figure, after its DVC template."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from exptrack_core.cli.plotlabels import integer_ticks

    props = spec.props
    template = props.get("template") or "linear"
    if template not in TEMPLATES:
        raise ExptrackError(f"{spec.path}: template {template!r} is not one exptrack draws; "
                            f"expected one of {', '.join(TEMPLATES)}")
    x = props.get("x")
    if x is None:
        x = INDEX_FIELD
        rows = [{INDEX_FIELD: i, **r} for i, r in enumerate(rows)]
    ys = _fields(props.get("y")) or ([list(rows[0])[-1]] if rows else [])
    fig, ax = plt.subplots(figsize=(7, 4.5) if not template.startswith("confusion") else (6, 6))
    if template.startswith("confusion"):
        _confusion(ax, rows, x, ys[0], normalized=template.endswith("normalized"))
    elif template.startswith("bar_horizontal"):
        pairs = [(str(r.get(ys[0])), _number(r.get(x))) for r in rows]
        if template.endswith("sorted"):
            pairs.sort(key=lambda p: p[1])
        ax.barh([p[0] for p in pairs], [p[1] for p in pairs])
    else:
        xs = [_number(r.get(x)) for r in rows]
        for y in ys:
            values = [_number(r.get(y)) for r in rows]
            if template == "scatter":
                ax.scatter(xs, values, label=y, s=12)
            else:
                ax.plot(xs, values, marker=".", label=y)
        integer_ticks(ax, xs)
        if len(ys) > 1:
            ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    ax.set_xlabel(props.get("x_label") or x)
    ax.set_ylabel(props.get("y_label") or ", ".join(ys))
    ax.set_title(props.get("title") or str(spec.path))
    fig.tight_layout()
    return fig


def _confusion(ax: Any, rows: list[dict[str, Any]], x: str, y: str, normalized: bool) -> None:
    xs = sorted({str(r.get(x)) for r in rows})
    ys = sorted({str(r.get(y)) for r in rows})
    counts = [[0.0] * len(xs) for _ in ys]
    for r in rows:
        counts[ys.index(str(r.get(y)))][xs.index(str(r.get(x)))] += 1
    if normalized:  # DVC's confusion_normalized: each count over its y value's total
        counts = [[c / (sum(row) or 1) for c in row] for row in counts]
    ax.imshow(counts, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(xs)), xs)
    ax.set_yticks(range(len(ys)), ys)
    peak = max((max(row) for row in counts), default=0)
    if len(xs) * len(ys) <= 900:
        for i, row in enumerate(counts):
            for j, n in enumerate(row):
                if n:
                    ax.text(j, i, f"{n:.2f}" if normalized else str(int(n)), ha="center",
                            va="center", fontsize=8, color="white" if n > peak / 2 else "black")


def write_index(out: Path, written: list[Path]) -> Path:
    """A page showing every PNG, with nothing loaded from elsewhere."""
    parts = [f'<h2>{html.escape(str(p.relative_to(out)))}</h2>\n<img src="{html.escape(p.relative_to(out).as_posix())}">'
             for p in written]
    index = out / "index.html"
    index.write_text("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>DVC plots</title>"
                     "</head><body>\n" + "\n".join(parts) + "\n</body></html>\n", encoding="utf-8")
    return index


def cmd_dvc_plots(args) -> int:
    if args.run_ids or args.experiment or args.sweep:
        raise ExptrackError("--dvc draws the plots dvc.yaml declares, from the workspace's files; "
                            "leave out RUN_ID, --experiment and --sweep")
    root = Path(".")
    out = Path(args.output) if args.output else DEFAULT_OUT
    specs = declared(root)
    if args.metric:  # only the plots of one metric: by file name or y field
        specs = [s for s in specs if args.metric in (s.path.stem, *_fields(s.props.get("y")))]
        if not specs:
            raise ExptrackError(f"no DVC plot of {args.metric!r} in dvc.yaml")
    missing = [s.path for s in specs if not (root / s.path).is_file()]
    if len(missing) == len(specs):
        raise ExptrackError("no DVC plots to draw: none of the files dvc.yaml declares exists "
                            f"yet ({', '.join(map(str, missing))}); run the pipeline (dvc repro)")
    for path in missing:
        print(f"exptrack: note: {path} (declared in dvc.yaml) does not exist yet; run its "
              "stage first", file=sys.stderr)
    written: list[Path] = []
    import matplotlib.pyplot as plt

    for spec in specs:
        source = root / spec.path
        if spec.path in missing:
            continue
        # data files keep their suffix: plots/eval/confusion.json beside plots/eval/confusion.png
        target = out / (spec.path if spec.is_image else spec.path.with_name(spec.path.name + ".png"))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if spec.is_image:
                shutil.copyfile(source, target)
            else:
                fig = draw(spec, read_rows(source, spec.props))
                fig.savefig(target, dpi=110)
                plt.close(fig)
        except OSError as exc:
            raise ExptrackError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
        written.append(target)
    index = write_index(out, written)
    print(f"wrote {len(written)} plot(s) to {out}/ (open {index})")
    return 0


__all__ = ["PlotSpec", "cmd_dvc_plots", "declared", "draw", "read_rows"]
