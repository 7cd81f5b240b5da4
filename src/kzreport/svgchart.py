"""Geometry of the brief's bar charts, drawn as SVG by the PDF template.

The numbers are laid out here; the template only draws what this returns, so the
chart stays vector and every label stays text that the template escapes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .model import Brief, Chart

WIDTH, HEIGHT = 640.0, 300.0
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 48.0, 620.0, 40.0, 250.0


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    label: str
    label_y: float


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class ChartLayout:
    """Everything the template draws: bars, axis ticks, category labels, legend."""

    width: float
    height: float
    bars: list[Bar]
    ticks: list[Tick]
    categories: list[tuple[float, str]]
    legend: list[tuple[str, str]]
    missing: list[tuple[float, float, str]]
    """(x, y, text) where a value is not given by the source."""
    zero: float
    """Where the zero line runs."""


def _axis_ticks(low: float, high: float) -> list[float]:
    """Return round tick values from at or below ``low`` (≤ 0) to at or above ``high`` (≥ 0), 0 among them,
    1, 2, 2.5 or 5 times a power of ten apart."""
    span = (high - low) or 1.0
    magnitude = 10 ** math.floor(math.log10(span / 4))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if span / (m * magnitude) <= 5)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(first, max(last, first + 1) + 1)]


def layout_chart(brief: Brief, chart: Chart, palette: dict[str, str], no_value: str) -> ChartLayout:
    """Return the chart laid out: grouped bars per category (below the zero line for negative values),
    or one stack per category."""
    stacked = chart.kind == "stacked_bar"
    totals = [sum(v or 0 for v in col) for col in zip(*(s.values for s in chart.series))]
    values = totals if stacked else [v for s in chart.series for v in s.values if v is not None]
    ticks = _axis_ticks(min([0.0, *values]), max([0.0, *values]))
    scale = (PLOT_BOTTOM - PLOT_TOP) / (ticks[-1] - ticks[0])
    zero = PLOT_BOTTOM + ticks[0] * scale
    slot = (PLOT_RIGHT - PLOT_LEFT) / len(chart.categories)
    group = slot * 0.64
    bar_width = group if stacked else group / len(chart.series)
    bars, missing = [], []
    for ci, category in enumerate(chart.categories):
        left = PLOT_LEFT + ci * slot + (slot - group) / 2
        base = zero
        for si, series in enumerate(chart.series):
            x = left if stacked else left + si * bar_width
            value = series.values[ci]
            if value is None:
                if not stacked:
                    missing.append((x + bar_width / 2, zero - 8, no_value))
                continue
            height = abs(value) * scale
            y = base - height if value >= 0 else base
            label = brief.chart_label(chart, value, category)
            label_y = y + height / 2 + 5 if stacked else (y - 6 if value >= 0 else y + height + 14)
            bars.append(Bar(x, y, bar_width, height, palette[series.color], label, label_y))
            if stacked:
                base = y
    tick_marks = [Tick(zero - t * scale, f"{t:g}") for t in ticks]
    categories = [(PLOT_LEFT + (ci + 0.5) * slot, c) for ci, c in enumerate(chart.categories)]
    legend = [(palette[s.color], s.name) for s in chart.series]
    return ChartLayout(WIDTH, HEIGHT, bars, tick_marks, categories, legend, missing, zero)
