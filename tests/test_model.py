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
        Pipeline(id="p", name="管道", alt_name="P", kind="crude_oil", status="operating",
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


# --- the format for any article -------------------------------------------------------------

from kzreport.errors import InputError  # noqa: E402


def problems_of(broken, old: str, new: str) -> str:
    """Return the located problems loading the minimal source with one replacement gives."""
    with pytest.raises(InputError) as info:
        load_source(broken(old, new))
    return str(info.value)


def test_a_language_outside_the_supported_ones_lists_them(broken):
    message = problems_of(broken, "  title: 测试简报\n", "  title: 测试简报\n  language: fr\n")
    assert "meta.language: input should be 'zh-Hans', 'zh-Hant' or 'en'" in message
    assert ":3:13:" in message


@pytest.mark.parametrize("qualifier, extra, expected", [
    ("range", "", "value_max: qualifier 'range' needs both value"),
    ("range", ", value_max: 1.0", "value_max: is below value"),
    ("about", ", value_max: 3", "value_max: is only for qualifier 'range'"),
])
def test_ranges_need_both_ends_in_order(broken, qualifier, extra, expected):
    old = "value: 1.10, display"
    message = problems_of(broken, old, f"value: 1.10, qualifier: {qualifier}{extra}, display")
    assert f"figures[0].{expected}" in message


@pytest.mark.parametrize("qualifier", ["up_to", "at_least", "comparison", "less_than", "more_than"])
def test_every_qualifier_is_accepted(broken, qualifier):
    load_source(broken("value: 1.10, display", f"value: 1.10, qualifier: {qualifier}, display"))


ROUTE = dict(id="r", name="Route", sources=["s"], waypoints=[Waypoint(name="a", lat=0, lon=0),
                                                             Waypoint(name="b", lat=1, lon=1)])


@pytest.mark.parametrize("kind", ["crude_oil", "oil_products", "gas", "lng_shipping", "tanker", "rail", "road",
                                  "power_line"])
@pytest.mark.parametrize("status", ["operating", "disrupted", "damaged", "halted", "under_construction", "planned",
                                    "cancelled"])
def test_every_route_kind_and_status_is_accepted(kind, status):
    assert Pipeline(**ROUTE, kind=kind, status=status).status == status


def test_a_route_of_another_kind_needs_a_label_and_dates_in_order():
    from kzreport.model import _route_problems

    line = Pipeline(**ROUTE, kind="other", since="2022-09", until="2022-03")
    assert [(loc[-1], message) for loc, message in _route_problems(line, ())] == [
        ("label", "kind 'other' needs a label saying what the route is"), ("until", "is before since (2022-09)")]
    assert _route_problems(Pipeline(**ROUTE, kind="other", label="Conveyor belt", since="2022"), ()) == []


def test_former_names_say_what_they_are_called_now(tmp_path):
    from pathlib import Path

    text = (Path(__file__).parent / "fixtures" / "maps.yaml").read_text(encoding="utf-8")
    text = text.replace("kind: crude_oil", "kind: oil").replace("alt_name: Atyrau", "name_en: Atyrau")
    path = tmp_path / "old.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_source(path)
    assert "pipelines[0].kind: input should be 'crude_oil'" in str(info.value)
    assert "'oil' is now crude_oil" in str(info.value)
    assert "places[0].name_en: unknown field; it is now called 'alt_name'" in str(info.value)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "smb://host/share", "\\\\\\\\server\\\\share",
                                 "//host/share", "relative/page.html", "data:text/html,<b>x</b>", "https://",
                                 "https://example.org/a b", "JAVASCRIPT:alert(1)", "vbscript:x"])
def test_source_addresses_other_than_web_and_mail_are_located_errors(broken, url):
    old = "  - {key: article, title: 测试文章}"
    message = problems_of(broken, old, f"  - {{key: article, title: 测试文章, url: '{url}'}}")
    assert "sources[0].url: " in message and ":26:38:" in message


@pytest.mark.parametrize("url", ["https://en.wikipedia.org/wiki/Nord_Stream", "http://example.org/x?a=1#b",
                                 "mailto:editor@example.org", "HTTPS://EXAMPLE.ORG/"])
def test_web_and_mail_addresses_are_kept(broken, url):
    old = "  - {key: article, title: 测试文章}"
    assert load_source(broken(old, f"  - {{key: article, title: 测试文章, url: '{url}'}}")).sources[0].url == url
