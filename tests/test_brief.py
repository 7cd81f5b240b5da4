"""The built-in brief: valid, complete, and faithful to the article."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from kzreport.loader import load_source
from kzreport.resources import default_source

from .conftest import ARTICLE


@pytest.fixture(scope="module")
def brief():
    return load_source(default_source())


def test_first_line_points_editors_at_the_schema():
    first = default_source().read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../assets/schema/brief.schema.json"


def test_the_articles_sections_in_order(brief):
    titles = [s.title for s in brief.sections]
    assert titles[1:] == ["历史和民族构成变迁", "乌克兰战争和哈萨克斯坦内部骚乱",
                          "中国和哈萨克斯坦的相互战略需要", "加强与包括北约在内的西方关系"]
    assert "上合" in titles[0]


def test_three_to_six_judgments_drawing_on_claims(brief):
    assert 3 <= len(brief.judgments) <= 6
    assert all(j.claims for j in brief.judgments)


@pytest.mark.parametrize("display,value", [
    ("43%", 43), ("1900万", 19_000_000), ("70%", 70), ("20%", 20), ("40%", 40), ("140", 140),
])
def test_key_figures_as_data(brief, display, value):
    hits = [f for f in brief.figures if display.replace("%", "") in f.display.replace("％", "%").replace("%", "")]
    assert hits, f"no key figure shows {display}"
    assert any(f.value == pytest.approx(value) for f in hits), f"{display}: value {[f.value for f in hits]}"


def test_comparison_and_fraction_figures(brief):
    displays = " ".join(f.display + f.label for f in brief.figures)
    assert "印度" in displays
    assert "3/4" in displays or "四分之三" in displays or "¾" in displays


@pytest.mark.parametrize("date", ["1936", "1991", "2007", "2018", "2020", "2022-01", "2022-02", "2022-09"])
def test_timeline_dates(brief, date):
    assert any(e.date.startswith(date) for e in brief.timeline), f"no timeline event in {date}"


def test_actors_and_quote(brief):
    names = " ".join(a.name for a in brief.actors)
    for name in ("托卡耶夫", "习近平", "普京", "马西莫夫", "图库莫夫", "方济各"):
        assert name in names
    speakers = {brief.actor(q.speaker).name for q in brief.quotes}
    assert any("图库莫夫" in s for s in speakers)


def test_export_routes_map(brief):
    spec = next(m for m in brief.maps if m.id == "export-routes")
    names = " ".join(p.alt_name for p in spec.pipelines)
    for route in ("China", "CPC", "Samara", "Central Asia"):
        assert route in names
    assert any(p.kind == "tanker" for p in spec.pipelines)
    assert any(p.status == "disrupted" and p.disruptions for p in spec.pipelines)


def test_notes_where_sources_differ(brief):
    text = " ".join(n.text for n in brief.notes)
    assert "2007" in text
    assert "维修" in text


def _passages(node, path=""):
    """Yield (path, text) of every passage field in the model tree."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _passages(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _passages(item, f"{path}[{i}]")
    elif path.endswith(".passage") and node:
        yield path, node


@pytest.mark.skipif(not ARTICLE.is_file(), reason="the article (shared/seed) is not beside the checkout")
def test_every_passage_is_quoted_from_the_article(brief):
    article = re.sub(r"\s", "", ARTICLE.read_text(encoding="utf-8"))
    passages = list(_passages(brief))
    assert len(passages) > 30
    invented = [(p, t) for p, t in passages if re.sub(r"\s", "", t) not in article]
    assert not invented, f"passages not in the article: {invented}"


def test_every_claim_cites_known_sources(brief):
    keys = {s.key for s in brief.sources}
    assert "article" in keys
    cited = {k for c in brief.all_claims() for e in c.evidence for k in e.sources}
    assert cited <= keys
