"""PNG plots of the evaluation and the benchmark.

Figures are built with matplotlib's object API and saved through its Agg canvas: no pyplot,
so no global figure state and no display needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import NDArray

from faceapi.evaluation.dataset import Sample
from faceapi.evaluation.metrics import Metrics
from faceapi.evaluation.runner import SystemRun
from faceapi.evaluation.systems import Outcome

DPI = 80


def evaluation_plots(
    out: Path, report: Metrics, samples: Sequence[Sample], runs: Sequence[SystemRun]
) -> list[Path]:
    """Every plot the report's sections call for; returns the files written."""
    systems: dict[str, Metrics] = report["systems"]
    written: list[Path] = []
    aged = {name: m["age"] for name, m in systems.items() if "age" in m}
    if aged:
        written.append(age_scatter(out / "age_scatter.png", samples, runs))
        written.append(age_band_bars(out / "age_mae_by_band.png", aged))
    gendered = {name: m["gender"] for name, m in systems.items() if "gender" in m}
    if gendered:
        written.append(gender_bars(out / "gender_accuracy.png", gendered))
    for name, metrics in systems.items():
        if "expression" in metrics:
            path = out / f"expression_confusion_{_slug(name)}.png"
            written.append(confusion_matrix(path, metrics["expression"]["confusion"], name))
    return written


def age_scatter(path: Path, samples: Sequence[Sample], runs: Sequence[SystemRun]) -> Path:
    """Estimated against true age, one panel per system, on the images it analysed."""
    pairs = {run.name: _age_pairs(samples, run.outcomes) for run in runs}
    pairs = {name: ages for name, ages in pairs.items() if len(ages)}
    top = max(90.0, *(float(ages.max()) for ages in pairs.values()))
    figure = Figure(figsize=(4 * len(pairs), 4), dpi=DPI, layout="constrained")
    for axes, (name, ages) in zip(_panels(figure, len(pairs)), pairs.items(), strict=True):
        axes.scatter(ages[:, 0], ages[:, 1], s=5, alpha=0.4, linewidths=0, rasterized=True)
        axes.plot([0, top], [0, top], color="grey", linewidth=1)
        axes.set(xlim=(0, top), ylim=(0, top), title=name, xlabel="true age")
        axes.set_ylabel("estimated age")
    return _save(figure, path)


def age_band_bars(path: Path, ages: Mapping[str, Metrics]) -> Path:
    """MAE per age band, one bar per system."""
    figure = Figure(figsize=(7, 3.5), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    _grouped_bars(axes, {name: _by(m, "by_band", "mae") for name, m in ages.items()})
    axes.set(title="Age: mean absolute error by true age band", ylabel="MAE (years)")
    _legend(figure, axes)
    return _save(figure, path)


def gender_bars(path: Path, genders: Mapping[str, Metrics]) -> Path:
    """Gender accuracy overall and by true gender, then by age band and by race."""
    groupings = [
        g for g in ("by_gender", "by_band", "by_race") if any(g in m for m in genders.values())
    ]
    figure = Figure(figsize=(4.5 * len(groupings), 3.5), dpi=DPI, layout="constrained")
    for axes, grouping in zip(_panels(figure, len(groupings)), groupings, strict=True):
        overall = grouping == "by_gender"
        _grouped_bars(
            axes,
            {
                name: {
                    **({"all": m["accuracy"]} if overall else {}),
                    **_by(m, grouping, "accuracy"),
                }
                for name, m in genders.items()
            },
        )
        axes.set(ylim=(0, 1), title=f"Gender accuracy {grouping.replace('_', ' ')}")
    _legend(figure, axes)
    return _save(figure, path)


def confusion_matrix(path: Path, confusion: Metrics, system: str) -> Path:
    """Rows: true label; columns: estimate; cells: share of the row, with the count."""
    labels: list[str] = confusion["labels"]
    counts = np.array(confusion["matrix"], dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    figure = Figure(figsize=(5.5, 5), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, column), share in np.ndenumerate(shares):
        colour = "white" if share > 0.5 else "black"
        text = f"{share:.2f}\n{int(counts[row, column])}"
        axes.text(column, row, text, ha="center", va="center", fontsize=7, color=colour)
    ticks = range(len(labels))
    axes.set_xticks(ticks, labels, rotation=45, ha="right")
    axes.set_yticks(ticks, labels)
    axes.set(xlabel="estimated", ylabel="true", title=f"Expression: {system}")
    return _save(figure, path)


def latency_plot(path: Path, levels: Sequence[Metrics]) -> Path:
    """Latency (p50 solid, p95 dashed) and throughput against concurrency, per target."""
    figure = Figure(figsize=(10, 4), dpi=DPI, layout="constrained")
    latency, throughput = figure.subplots(1, 2)
    targets = list(dict.fromkeys(level["target"] for level in levels))
    for target in targets:
        mine = [level for level in levels if level["target"] == target]
        x = [level["concurrency"] for level in mine]
        (line,) = latency.plot(
            x, [lv["latency_ms"]["p50"] for lv in mine], marker="o", label=target
        )
        latency.plot(
            x, [lv["latency_ms"]["p95"] for lv in mine], linestyle="--", color=line.get_color()
        )
        throughput.plot(x, [lv["requests_per_second"] for lv in mine], marker="o", label=target)
    clients = sorted({level["concurrency"] for level in levels})
    for axes in (latency, throughput):
        axes.set_xscale("log", base=2)
        axes.set_xticks(clients, [str(c) for c in clients])
        axes.set_xlabel("concurrent clients")
        axes.grid(alpha=0.3)
    latency.set(yscale="log", ylabel="latency (ms): p50 solid, p95 dashed")
    throughput.set(yscale="log", ylabel="successful requests per second")
    _legend(figure, throughput)
    return _save(figure, path)


def _grouped_bars(axes: Axes, series: Mapping[str, Mapping[str, float | None]]) -> None:
    """One group of bars per key, one bar per series; missing values leave a gap."""
    groups = list(dict.fromkeys(key for values in series.values() for key in values))
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        heights = [np.nan if values.get(g) is None else values[g] for g in groups]
        axes.bar(
            np.arange(len(groups)) + (i - (len(series) - 1) / 2) * width, heights, width, label=name
        )
    axes.set_xticks(range(len(groups)), groups, rotation=30, ha="right")


def _legend(figure: Figure, axes: Axes) -> None:
    """One legend for the figure, above the panels, where it hides no bar."""
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside upper center", ncols=len(labels), fontsize=8)


def _age_pairs(samples: Sequence[Sample], outcomes: Sequence[Outcome]) -> NDArray[np.float64]:
    """[N, 2]: true and estimated age of each image that has both."""
    pairs = [
        (s.age, o.age)
        for s, o in zip(samples, outcomes, strict=True)
        if s.age is not None and o.age is not None
    ]
    return np.array(pairs, dtype=float).reshape(-1, 2)


def _panels(figure: Figure, count: int) -> list[Axes]:
    return list(figure.subplots(1, count, squeeze=False)[0])


def _by(metrics: Metrics, grouping: str, field: str) -> dict[str, float | None]:
    return {group: values[field] for group, values in metrics.get(grouping, {}).items()}


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path)
    return path
