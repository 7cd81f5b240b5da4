"""The English edition of the built-in brief: the same argument, the article quoted in Chinese, translated beside it.

Which fields of the English edition may hold Chinese (Han characters or CJK punctuation):

- every ``passage``: the article's own words, verbatim, exactly as in the Chinese brief;
- ``alt_name`` of actors, places and routes: the Chinese name, so a reader can find it in the passages;
- ``meta.article_title`` and the ``title`` of the sources in ``CHINESE_TITLED_SOURCES``: a Chinese
  source's original title is kept as published (the article's title), identical to the Chinese brief's.

Every other text (titles, thesis, evidence, displays, units, labels, captions, notes, translations, waypoint
names, publishers, source notes) is English.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from kzreport.loader import load_source
from kzreport.resources import default_source

from .conftest import ARTICLE

EN_SOURCE = Path(__file__).resolve().parents[1] / "briefs" / "kazakhstan-2022.en.yaml"

CHINESE_TITLED_SOURCES = {"article"}
"""Sources whose title is kept in the original Chinese (the others are in English or described in English)."""

# Han ideographs (with extensions and compatibility forms), CJK symbols and punctuation (、。「」),
# and full-width forms (，：％): any of them in an English field is untranslated text.
CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]")


@pytest.fixture(scope="module")
def zh():
    return load_source(default_source())


@pytest.fixture(scope="module")
def en():
    return load_source(EN_SOURCE)


def _texts(node, path=()):
    """Yield (path, text) for every string in the model tree; path holds field names and list indices."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _texts(getattr(node, name), (*path, name))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _texts(item, (*path, i))
    elif isinstance(node, str):
        yield path, node


def _with_passages(node, path=()):
    """Yield (path, model) for every part of the tree that has a ``passage`` field."""
    if isinstance(node, BaseModel):
        if "passage" in type(node).model_fields:
            yield path, node
        for name in type(node).model_fields:
            yield from _with_passages(getattr(node, name), (*path, name))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _with_passages(item, (*path, i))


def _passages(brief) -> dict[tuple, str]:
    return {path: text for path, text in _texts(brief) if path[-1] == "passage"}


def test_first_line_points_editors_at_the_schema():
    first = EN_SOURCE.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../assets/schema/brief.schema.json"


def test_languages(en, zh):
    assert en.meta.language == "en"
    assert en.meta.article_language == zh.meta.language == "zh-Hans"


@pytest.mark.parametrize("table,key", [
    ("sections", "id"), ("judgments", "id"), ("figures", "id"), ("charts", "id"), ("actors", "id"),
    ("quotes", "id"), ("notes", "id"), ("sources", "key"), ("timeline", "date"),
])
def test_same_ids_in_the_same_order(en, zh, table, key):
    assert [getattr(x, key) for x in getattr(en, table)] == [getattr(x, key) for x in getattr(zh, table)]


def test_the_same_maps_under_ids_of_their_own(en, zh):
    # A map's files are named by its id, and the English map's labels differ: with ids of their own both
    # editions build into one folder (`kzreport build briefs/*.yaml`) without writing one file twice.
    assert [m.id for m in en.maps] == [f"{m.id}-en" for m in zh.maps]


def test_same_claims_in_the_same_order(en, zh):
    assert [c.id for c in en.all_claims()] == [c.id for c in zh.all_claims()]
    for s_en, s_zh in zip(en.sections, zh.sections):
        assert s_en.headline.id == s_zh.headline.id
        assert [c.id for c in s_en.claims] == [c.id for c in s_zh.claims]


REFERENCE_LISTS = {"claims", "figures", "charts", "maps", "quotes", "notes", "sources", "highlight"}


def test_same_cross_references(en, zh):
    """The same claims, figures, charts, maps, quotes, notes, sources and countries are cited from the same places."""
    def refs(brief):
        # Map ids differ by the edition's suffix (see test_the_same_maps_under_ids_of_their_own).
        return {path: key.removesuffix("-en") if path[-2:-1] == ("maps",) else key for path, key in _texts(brief)
                if path[-1] == "speaker" or (isinstance(path[-1], int) and path[-2] in REFERENCE_LISTS)}
    en_refs, zh_refs = refs(en), refs(zh)
    assert len(en_refs) > 50
    assert en_refs == zh_refs
    assert [len(c.evidence) for c in en.all_claims()] == [len(c.evidence) for c in zh.all_claims()]


def test_same_data(en, zh):
    """Numbers, dates, qualifiers, kinds, statuses and coordinates do not change in translation."""
    for f_en, f_zh in zip(en.figures, zh.figures):
        assert (f_en.value, f_en.value_max, f_en.qualifier, f_en.year) == (f_zh.value, f_zh.value_max, f_zh.qualifier, f_zh.year)
    for c_en, c_zh in zip(en.charts, zh.charts):
        assert (c_en.kind, c_en.categories, c_en.figures) == (c_zh.kind, c_zh.categories, c_zh.figures)
        assert [(s.values, s.color) for s in c_en.series] == [(s.values, s.color) for s in c_zh.series]
    for q_en, q_zh in zip(en.quotes, zh.quotes):
        assert (q_en.speaker, q_en.date, q_en.indirect) == (q_zh.speaker, q_zh.date, q_zh.indirect)
    for m_en, m_zh in zip(en.maps, zh.maps):
        assert (m_en.bounds, m_en.highlight) == (m_zh.bounds, m_zh.highlight)
        assert [(p.id, p.kind, p.lat, p.lon, p.estimated, p.label, p.sources) for p in m_en.places] == \
               [(p.id, p.kind, p.lat, p.lon, p.estimated, p.label, p.sources) for p in m_zh.places]
        for r_en, r_zh in zip(m_en.pipelines, m_zh.pipelines, strict=True):
            assert (r_en.id, r_en.kind, r_en.status, r_en.since, r_en.until, r_en.length_km, r_en.sources) == \
                   (r_zh.id, r_zh.kind, r_zh.status, r_zh.since, r_zh.until, r_zh.length_km, r_zh.sources)
            assert [(w.lat, w.lon, w.estimated) for w in r_en.waypoints] == \
                   [(w.lat, w.lon, w.estimated) for w in r_zh.waypoints]
            assert len(r_en.disruptions) == len(r_zh.disruptions)


def test_every_passage_is_the_chinese_briefs_passage_at_the_same_place(en, zh):
    en_passages, zh_passages = _passages(en), _passages(zh)
    assert len(en_passages) > 30
    assert en_passages.keys() == zh_passages.keys()
    different = {p: (en_passages[p], zh_passages[p]) for p in en_passages if en_passages[p] != zh_passages[p]}
    assert not different, f"passages not copied verbatim: {different}"


def test_every_passage_has_an_english_translation(en):
    parts = list(_with_passages(en))
    assert len(parts) > 30
    for path, part in parts:
        if part.passage is None:
            assert part.translation is None, path
            continue
        assert part.translation and part.translation.strip(), f"{path}: no translation"
        assert not CJK.search(part.translation), f"{path}: Chinese in the translation: {part.translation!r}"
        assert part.translation != part.passage, path


def _may_hold_chinese(path: tuple, brief) -> bool:
    """Return whether the field at ``path`` may hold Chinese in the English edition (see the module's doc)."""
    if path[-1] in ("passage", "alt_name"):
        return True
    if path == ("meta", "article_title"):
        return True
    if path[0] == "sources" and path[-1] == "title":
        return brief.sources[path[1]].key in CHINESE_TITLED_SOURCES
    return False


def test_no_chinese_outside_passages_names_and_original_titles(en):
    chinese = [(path, text) for path, text in _texts(en) if CJK.search(text) and not _may_hold_chinese(path, en)]
    assert not chinese, "untranslated text:\n" + "\n".join(f"{'.'.join(map(str, p))}: {t}" for p, t in chinese)


def test_original_titles_are_kept_as_in_the_chinese_brief(en, zh):
    assert en.meta.article_title == zh.meta.article_title
    for key in CHINESE_TITLED_SOURCES:
        assert en.source(key).title == zh.source(key).title
        assert CJK.search(en.source(key).title)


def test_alt_names_give_the_chinese_names(en, zh):
    """Actors, places and routes are named in English; the alt_name is the name the Chinese brief uses."""
    for a_en, a_zh in zip(en.actors, zh.actors):
        assert a_en.alt_name == a_zh.name and not CJK.search(a_en.name), a_en.id
    for m_en, m_zh in zip(en.maps, zh.maps):
        for x_en, x_zh in zip([*m_en.places, *m_en.pipelines], [*m_zh.places, *m_zh.pipelines]):
            assert x_en.alt_name == x_zh.name and not CJK.search(x_en.name), x_en.id


def test_short_forms_fit_a_slide_title(en):
    shorts = [c.short for c in en.all_claims()] + [s.short for s in en.sections]
    assert all(len(s) <= 60 for s in shorts if s), [s for s in shorts if s and len(s) > 60]


@pytest.mark.skipif(not ARTICLE.is_file(), reason="the article (shared/seed) is not beside the checkout")
def test_every_passage_is_quoted_from_the_article(en):
    article = re.sub(r"\s", "", ARTICLE.read_text(encoding="utf-8"))
    invented = [(p, t) for p, t in _passages(en).items() if re.sub(r"\s", "", t) not in article]
    assert not invented, f"passages not in the article: {invented}"
