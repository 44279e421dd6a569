"""The evaluation report as Markdown tables: ours, each peer, and ours minus the peer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from faceapi.evaluation.metrics import Metrics

LISTED_FILES = 50  # the rest of a long no-face list stays in report.json
DETECTOR = {False: "on", True: "skipped (`--crops`: the whole frame is the face)"}


class Unit(Enum):
    COUNT = "count"
    SHARE = "share"
    YEARS = "years"


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    path: tuple[str, ...]  # keys into a section's metrics
    unit: Unit


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    metrics: Metrics  # one section of one system, or a difference of two
    is_difference: bool = False


def render(report: Metrics, plot_files: Sequence[str]) -> str:
    """The whole summary.md."""
    parts = [_header(report), _own_images(report)]
    parts += [_like_for_like(report, peer) for peer in report["comparisons"]]
    parts += [_timing(report), _no_face_files(report), _plots(plot_files)]
    return "\n\n".join(part for part in parts if part) + "\n"


def _turned(degrees: int) -> list[str]:
    if not degrees:
        return []
    return [f"- Every image turned {degrees} degrees anticlockwise, without an EXIF tag (`--turn`)"]


def _header(report: Metrics) -> str:
    dataset, options = report["dataset"], report["options"]
    sample = f"{dataset['sample_size']:,} of {dataset['rows']:,} rows"
    if dataset["limit"] is not None:
        sample += f" (`--limit {dataset['limit']}`, seed {dataset['seed']})"
    lines = [
        f"# Evaluation on {dataset['name']}",
        "",
        f"- Command: `{report['command']}`",
        f"- Dataset: `{dataset['path']}`, {sample}; labels: {', '.join(dataset['labels'])}",
        f"- Detector: {DETECTOR[options['crops']]}; workers: {options['workers']}; "
        f"created {report['created']}",
        *_turned(options["turn"]),
        f"- Versions: {_inline(report['versions']['packages'])}",
        f"- Our engine (settings, e.g. FACEAPI_AGE_MODELS): {_engine(report['versions'])}",
        "",
        "Δ is ours minus the peer. Lower is better for MAE, time, 'no face' and the 13-17 "
        "pre-check; higher is better for accuracy, recall and 'within 5 years'.",
    ]
    return "\n".join(lines)


def _own_images(report: Metrics) -> str:
    """Each system on every image it analysed: detection first, then each attribute."""
    systems: dict[str, Metrics] = report["systems"]
    ours = next(iter(systems))
    parts = ["## Each system on the images where it found a face"]
    for section, rows_of in _SECTIONS.items():
        columns = []
        for name, metrics in systems.items():
            if section in metrics:
                columns.append(Column(name, metrics[section]))
                if name != ours:
                    difference = report["comparisons"][name]["own_images"]["difference"]
                    columns.append(Column(f"Δ {name}", difference.get(section, {}), True))
        if columns:
            parts += [f"### {section.capitalize()}", _table(rows_of(columns), columns)]
    return "\n\n".join(parts)


def _like_for_like(report: Metrics, peer: str) -> str:
    comparison = report["comparisons"][peer]["common_images"]
    ours = next(iter(report["systems"]))
    parts = [
        f"## Like for like: the {comparison['images']:,} images where {ours} and {peer} "
        "both found a face"
    ]
    for section in ("age", "gender", "expression"):
        if section in comparison["ours"] and section in comparison["peer"]:
            columns = [
                Column(ours, comparison["ours"][section]),
                Column(peer, comparison["peer"][section]),
                Column("Δ", comparison["difference"].get(section, {}), True),
            ]
            rows = _SECTIONS[section](columns)
            parts += [f"### {section.capitalize()}", _table(rows, columns)]
    return "\n\n".join(parts)


def _timing(report: Metrics) -> str:
    lines = [
        "## Time per image (ms, in the worker; `total` includes reading the file)",
        "",
        "| system | stage | median | p95 |",
        "|---|---|---:|---:|",
    ]
    for name, metrics in report["systems"].items():
        for stage, timing in metrics["timing"].items():
            lines.append(
                f"| {name} | {stage} | {timing['median_ms']:.1f} | {timing['p95_ms']:.1f} |"
            )
    return "\n".join(lines)


def _no_face_files(report: Metrics) -> str:
    parts = ["## Images where no face was found"]
    for name, metrics in report["systems"].items():
        files = metrics["detection"]["no_face_files"]
        listed = "\n".join(f"- `{file}`" for file in files[:LISTED_FILES]) or "- none"
        more = len(files) - LISTED_FILES
        if more > 0:
            listed += f"\n- ... and {more:,} more, all listed in report.json"
        parts.append(f"### {name} ({len(files):,})\n\n{listed}")
    return "\n\n".join(parts)


def _plots(plot_files: Sequence[str]) -> str:
    return "\n\n".join(["## Plots", *(f"![{name}]({name})" for name in plot_files)])


def _detection_rows(_: Sequence[Column]) -> list[Row]:
    return [
        Row("images", ("images",), Unit.COUNT),
        Row("no face found", ("no_face",), Unit.COUNT),
        Row("no face found, share", ("no_face_share",), Unit.SHARE),
        Row("excluded from attributes (any failure)", ("excluded_from_attributes",), Unit.COUNT),
    ]


def _age_rows(columns: Sequence[Column]) -> list[Row]:
    rows = [
        Row("faces", ("count",), Unit.COUNT),
        Row("MAE (years)", ("mae",), Unit.YEARS),
        Row("within 5 years", ("within_5_years",), Unit.SHARE),
    ]
    for threshold in _keys(columns, "precheck_by_threshold"):
        path = ("precheck_by_threshold", threshold)
        rows += [
            Row(f"pre-check at {threshold}: 13-17 passing", (*path, "13_17_passing"), Unit.SHARE),
            Row(f"pre-check at {threshold}: 18+ passing", (*path, "18_plus_passing"), Unit.SHARE),
        ]
    return rows + [
        Row(f"MAE {band}", ("by_band", band, "mae"), Unit.YEARS)
        for band in _keys(columns, "by_band")
    ]


def _gender_rows(columns: Sequence[Column]) -> list[Row]:
    rows = [Row("faces", ("count",), Unit.COUNT), Row("accuracy", ("accuracy",), Unit.SHARE)]
    for grouping, label in (("by_gender", "true"), ("by_band", "age"), ("by_race", "race")):
        rows += [
            Row(f"accuracy, {label} {group}", (grouping, group, "accuracy"), Unit.SHARE)
            for group in _keys(columns, grouping)
        ]
    for floor in _keys(columns, "by_confidence"):
        path = ("by_confidence", floor)
        rows += [
            Row(f"genderProbability {floor}+: faces kept", (*path, "kept"), Unit.SHARE),
            Row(f"genderProbability {floor}+: accuracy", (*path, "accuracy"), Unit.SHARE),
        ]
    return rows


def _expression_rows(columns: Sequence[Column]) -> list[Row]:
    rows = [Row("faces", ("count",), Unit.COUNT), Row("accuracy", ("accuracy",), Unit.SHARE)]
    return rows + [
        Row(f"recall {label}", ("recall", label), Unit.SHARE) for label in _keys(columns, "recall")
    ]


_SECTIONS: dict[str, Callable[[Sequence[Column]], list[Row]]] = {
    "detection": _detection_rows,
    "age": _age_rows,
    "gender": _gender_rows,
    "expression": _expression_rows,
}


def _keys(columns: Sequence[Column], grouping: str) -> list[str]:
    """The groups any value column has, in first-seen order."""
    seen: dict[str, None] = {}
    for column in columns:
        if not column.is_difference:
            seen.update(dict.fromkeys(column.metrics.get(grouping, {})))
    return list(seen)


def _table(rows: Sequence[Row], columns: Sequence[Column]) -> str:
    lines = [
        "| metric | " + " | ".join(column.header for column in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for row in rows:
        cells = [_cell(_lookup(column.metrics, row.path), row.unit, column) for column in columns]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: Any, unit: Unit, column: Column) -> str:
    if value is None or (column.is_difference and unit is Unit.COUNT):
        return ""
    sign = "+" if column.is_difference else ""
    if unit is Unit.SHARE:
        return f"{100 * value:{sign}.1f}" + (" pp" if column.is_difference else "%")
    if unit is Unit.COUNT:
        return f"{value:,}"
    return f"{value:{sign}.2f}"


def _lookup(metrics: Metrics, path: tuple[str, ...]) -> Any:
    value: Any = metrics
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _engine(versions: Metrics) -> str:
    """The options that choose and tune our models; they change figures, not the command."""
    options = next(iter(versions["systems"].values())).get("engine_options", {})
    parts = [
        f"{key} {', '.join(value)}" for key, value in options.items() if key.endswith("_models")
    ]
    if "detector" in options:
        parts.append(f"detector {_inline(options['detector'])}")
    return "; ".join(parts)


def _inline(values: dict[str, Any]) -> str:
    return ", ".join(f"{name} {value}" for name, value in values.items())
