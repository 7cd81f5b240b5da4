"""The format's models: strictness and cross-references."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kzreport.loader import load_source
from kzreport.model import Bounds, Chart, KeyFigure, Pipeline, Waypoint, cross_reference_problems

FIG = dict(id="f1", label="人口", display="超过1900万", shows="人口规模", passage="人口超过1900万人")


def test_unknown_field_is_refused():
    with pytest.raises(ValidationError, match="extra"):
        KeyFigure(**FIG, colour="red")


def test_text_is_stripped_and_never_empty():
    assert KeyFigure(**{**FIG, "label": "  人口 "}).label == "人口"
    with pytest.raises(ValidationError, match="empty"):
        KeyFigure(**{**FIG, "label": "   "})


@pytest.mark.parametrize("value", ["yes", "no", "on", "1", "True"])
def test_flags_are_true_or_false_only(value):
    with pytest.raises(ValidationError, match="true or false"):
        Waypoint(name="阿特劳", lat=47.1, lon=51.9, estimated=value)


def test_flag_text_true():
    assert Waypoint(name="阿特劳", lat="47.1", lon="51.9", estimated="true").estimated is True


@pytest.mark.parametrize("lat", ["91", "nan", "inf"])
def test_coordinates_are_bounded(lat):
    with pytest.raises(ValidationError):
        Waypoint(name="x", lat=lat, lon=0)


def test_pipeline_needs_two_waypoints_and_a_source():
    with pytest.raises(ValidationError) as info:
        Pipeline(id="p", name="管道", name_en="P", kind="oil", status="operating",
                 waypoints=[Waypoint(name="a", lat=1, lon=1)], sources=[])
    fields = {e["loc"][0] for e in info.value.errors()}
    assert fields == {"waypoints", "sources"}


def test_cross_references(minimal_source):
    brief = load_source(minimal_source)
    chart = Chart(id="c", title="t", unit="%", categories=["1990", "2022"], caption="c", alt="a",
                  series=[{"name": "俄罗斯族", "values": [40]}], figures=["f9"])
    bad = brief.model_copy(update={"charts": [chart], "figures": [*brief.figures, brief.figures[0]]})
    problems = dict(cross_reference_problems(bad))
    assert problems[("figures", 1, "id")] == "duplicate id 'f1'"
    assert problems[("charts", 0, "series", 0, "values")] == "has 1 values for 2 categories"
    assert problems[("charts", 0, "figures", 0)].startswith("no figure with key 'f9'")


def test_bounds_order(minimal_source):
    brief = load_source(minimal_source)
    spec = {"id": "m", "title": "t", "caption": "c", "alt": "a", "credit": "c",
            "bounds": Bounds(south=50, west=30, north=40, east=90)}
    from kzreport.model import MapSpec

    bad = brief.model_copy(update={"maps": [MapSpec(**spec)]})
    assert (("maps", 0, "bounds"), "south must be below north and west left of east") in cross_reference_problems(bad)
