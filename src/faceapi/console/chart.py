"""Geometry of the daily usage chart; the template draws it as inline SVG (no chart library)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from faceapi.services.usage import DayUsage, UsageSummary

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 30, 14, 32  # margins around the plot, for the axis labels
Y_STEPS = 4


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int  # which endpoint: the CSS class colours it
    label: str


@dataclass(frozen=True, slots=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class DailyChart:
    series: Sequence[str]
    bars: list[Bar]
    errors: list[Point]  # errors per day, drawn as a line over the bars
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def error_path(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.errors)


def daily_chart(summary: UsageSummary, series: Sequence[str]) -> DailyChart:
    """Requests per day, stacked by endpoint (in `series` order), with errors as a line."""
    scale = _Scale(_nice_step(max((day.total for day in summary.days), default=0) / Y_STEPS))
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(summary.days))
    bars: list[Bar] = []
    errors: list[Point] = []
    x_ticks: list[Tick] = []
    for index, day in enumerate(summary.days):
        left, middle = LEFT + index * slot, LEFT + (index + 0.5) * slot
        bars.extend(_stack(day, series, left + slot * 0.15, slot * 0.7, scale))
        label = f"{day.day:%Y-%m-%d}: {day.errors} error{'' if day.errors == 1 else 's'}"
        errors.append(Point(middle, scale.y(day.errors), label))
        if (len(summary.days) - 1 - index) % 7 == 0:  # a label a week, ending on today
            x_ticks.append(Tick(middle, f"{day.day:%b} {day.day.day}"))
    y_ticks = [Tick(scale.y(scale.step * n), f"{scale.step * n:,}") for n in range(Y_STEPS + 1)]
    return DailyChart(series, bars, errors, y_ticks, x_ticks)


@dataclass(frozen=True, slots=True)
class _Scale:
    step: int  # between two labelled values

    def y(self, value: float) -> float:
        plot_height = HEIGHT - BOTTOM - TOP
        return HEIGHT - BOTTOM - plot_height * value / (self.step * Y_STEPS)


def _stack(
    day: DayUsage, series: Sequence[str], x: float, width: float, scale: _Scale
) -> list[Bar]:
    """One day's bar: a segment per endpoint, from the bottom up."""
    bars = []
    below = 0
    for number, name in enumerate(series):
        count = day.requests.get(name, 0)
        if count:
            top = scale.y(below + count)
            label = f"{day.day:%Y-%m-%d} {name}: {count}"
            bars.append(Bar(x, top, width, scale.y(below) - top, number, label))
            below += count
    return bars


def _nice_step(raw: float) -> int:
    """The smallest whole 1, 2 or 5 times a power of ten at least `raw` (and at least 1)."""
    if raw <= 1:
        return 1
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
