"""Chart geometry: bars above and below the zero line, ticks, values the chart cannot draw."""

from __future__ import annotations

import pytest

from kzreport.errors import InputError
from kzreport.loader import load_source
from kzreport.svgchart import PLOT_BOTTOM, PLOT_TOP, _axis_ticks, layout_chart

PALETTE = {"primary": "#000001", "accent": "#000002", "accent2": "#000003", "muted": "#000004", "light": "#000005"}


def with_chart(broken, kind: str, values: str):
    """Return the minimal brief with one chart of two categories added."""
    chart = (f"charts:\n  - {{id: c, title: 图, kind: {kind}, unit: 亿, categories: ['2021', '2022'], "
             f"caption: 说明, alt: 描述, series: [{{name: 增长, values: {values}}}]}}\nsources:")
    return load_source(broken("sources:", chart))


def test_ticks_span_zero_and_both_ends():
    assert _axis_ticks(0, 43) == [0, 10, 20, 30, 40, 50]
    assert _axis_ticks(-12, 30) == [-20, -10, 0, 10, 20, 30]
    assert _axis_ticks(0, 0)[0] == 0 and len(_axis_ticks(0, 0)) >= 2


def test_negative_bars_hang_below_the_zero_line(broken):
    brief = with_chart(broken, "bar", "[30, -12]")
    layout = layout_chart(brief, brief.charts[0], PALETTE, "无")
    up, down = layout.bars
    assert PLOT_TOP <= up.y < layout.zero and up.y + up.height == pytest.approx(layout.zero)
    assert down.y == pytest.approx(layout.zero) and down.y + down.height <= PLOT_BOTTOM + 1e-6
    assert down.height == pytest.approx(up.height * 12 / 30)
    assert down.label_y > down.y + down.height and up.label_y < up.y


@pytest.mark.parametrize("kind, values, message", [
    ("stacked_bar", "[30, -12]", "values must not be negative"),
    ("bar", "[1e308, 1]", "less than or equal to 1000000000000"),
    ("bar", "[.inf, 1]", "valid number"),
    ("bar", "[1e400, 1]", "finite number"),
])
def test_values_a_chart_cannot_draw_are_located_errors(broken, kind, values, message):
    with pytest.raises(InputError, match=rf"charts\[0\]\.series\[0\]\.values.*{message}"):
        with_chart(broken, kind, values)
