"""The interface words: catalogs per language, user overrides, and no word of another language in any output."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from kzreport.build import BuildOptions, Reporter, build
from kzreport.errors import InputError
from kzreport.i18n import LANGUAGES, Words, catalog, placeholders
from kzreport.loader import load_source
from kzreport.model import LANGUAGES as FORMAT_LANGUAGES

FIXTURES = Path(__file__).parent / "fixtures"
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def test_the_format_and_the_catalogs_support_the_same_languages():
    assert set(FORMAT_LANGUAGES) == set(LANGUAGES)


@pytest.mark.parametrize("tag", [t for t in LANGUAGES if t != "en"])
def test_every_catalog_has_every_message_with_the_same_placeholders(tag):
    english, other = catalog("en", None), catalog(tag, None)
    assert set(other) == set(english)
    for key, message in english.items():
        assert placeholders(other[key]) == placeholders(message), key


def test_english_catalog_has_no_han_and_chinese_catalogs_no_english_words():
    assert not [m for m in catalog("en", None).values() if HAN.search(m)]
    for tag in ("zh-Hans", "zh-Hant"):
        words = [re.findall(r"[A-Za-z]{3,}", re.sub(r"\{\w+\}", "", m)) for m in catalog(tag, None).values()]
        assert {w for found in words for w in found} <= {"kzreport", "maps"}, tag  # the program and a format name


def test_traditional_catalog_is_not_the_simplified_one():
    simplified, traditional = catalog("zh-Hans", None), catalog("zh-Hant", None)
    assert traditional["key_judgments"] == "核心判斷" and simplified["key_judgments"] == "核心判断"
    assert "简" not in "".join(traditional.values()) and "们" not in "".join(traditional.values())


@pytest.mark.parametrize("tag, year, month, full, medium", [
    ("en", "2022", "September 2022", "September 14, 2022", "Sep 14, 2022"),
    ("zh-Hans", "2022年", "2022年9月", "2022年9月14日", "2022年9月14日"),
    ("zh-Hant", "2022年", "2022年9月", "2022年9月14日", "2022年9月14日"),
])
def test_dates_follow_the_locale(tag, year, month, full, medium):
    words = Words(tag)
    assert (words.date("2022"), words.date("2022-09"), words.date("2022-09-14")) == (year, month, full)
    assert words.date("2022-09-14", "medium") == medium


def test_lists_and_numbers_follow_the_locale():
    assert Words("en").join(["Russia", "China", "the West"]) == "Russia, China, and the West"
    assert Words("zh-Hans").join(["俄国", "中国", "西方"]) == "俄国、中国和西方"
    assert Words("en").number(1234567.5) == "1,234,567.5"


def test_pieces_follow_the_message_order_of_each_language():
    assert [name for name, _ in Words("en").pieces("passage_translated") if name] == ["translation", "quote"]
    assert [name for name, _ in Words("zh-Hans").pieces("passage_translated") if name] == ["quote", "translation"]


def test_placeholders_are_substituted_not_formatted():
    # A hostile catalog cannot reach attributes through format syntax: only {name} is filled.
    words = Words("en")
    assert words("labelled", label="{0.__class__}", text="x") == "{0.__class__}: x"


def write_catalog(folder: Path, tag: str, text: str) -> Path:
    """Write a user catalog under ``folder/i18n`` and return the folder."""
    (folder / "i18n").mkdir(parents=True, exist_ok=True)
    (folder / "i18n" / f"{tag}.yaml").write_text(text, encoding="utf-8")
    return folder


def test_a_user_catalog_overrides_one_word_and_keeps_the_rest(tmp_path):
    user = write_catalog(tmp_path / "tpl", "en", "key_judgments: The judgments\n")
    words = Words("en", user)
    assert words("key_judgments") == "The judgments" and words("contents") == "Contents"


@pytest.mark.parametrize("text, message", [
    ("no_such_word: x\n", r"en\.yaml:1:1: no_such_word: unknown message id"),
    ("labelled: \"{label}: {text} {secret}\"\n", r"en\.yaml:1:11: labelled: uses \{secret\}"),
    ("contents: [a, b]\n", r"en\.yaml:1:11: contents: must be text"),
])
def test_a_bad_user_catalog_is_a_located_error(tmp_path, text, message):
    user = write_catalog(tmp_path / "tpl", "en", text)
    with pytest.raises(InputError, match=message):
        Words("en", user)


@pytest.mark.parametrize("target", ["/etc/passwd", "/dev/zero", "missing.yaml"])
def test_a_user_catalog_that_links_out_of_its_folder_is_refused(tmp_path, target):
    (tmp_path / "tpl" / "i18n").mkdir(parents=True)
    (tmp_path / "tpl" / "i18n" / "en.yaml").symlink_to(target)
    with pytest.raises(InputError, match=r"en\.yaml"):
        Words("en", tmp_path / "tpl")


def test_a_user_catalog_word_reaches_the_pdf(tmp_path):
    from pypdf import PdfReader

    user = write_catalog(tmp_path / "tpl", "zh-Hans", "contents: 篇目\n")
    options = BuildOptions(out_dir=tmp_path / "out", formats=("pdf",), templates_dir=user)
    build([FIXTURES / "minimal.yaml"], options, Reporter(verbosity=0))
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "out" / "minimal.pdf").pages)
    assert "篇目" in text and "目录" not in text


# --- no word of another language in any output ---------------------------------------


KEY_FIELDS = {"id", "key", "kind", "status", "qualifier", "language", "article_language", "speaker", "color",
              "highlight", "sources", "claims", "figures", "charts", "maps", "quotes", "notes"}
"""Fields holding ids and enum values, not words: an output that shows ``port`` did not take it from the brief."""


def brief_strings(node) -> list[str]:
    """Return every text of the brief (its content, which may be in any language)."""
    from pydantic import BaseModel

    if isinstance(node, BaseModel):
        return [s for name in type(node).model_fields for s in brief_strings(getattr(node, name))
                if not (name in KEY_FIELDS and s in _as_list(getattr(node, name)))]
    if isinstance(node, (list, tuple)):
        return [s for item in node for s in brief_strings(item)]
    return [node] if isinstance(node, str) else []


def _as_list(value) -> list:
    """Return a field's value as a list of its plain strings."""
    return [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def deck_text(data: bytes) -> str:
    """Return the text of every slide and its speaker notes."""
    from pptx import Presentation

    prs = Presentation(io.BytesIO(data))
    parts = []
    for slide in prs.slides:
        parts += [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
        parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(parts)


def pdf_text(path: Path) -> str:
    """Return the text of every page."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def interface_text(text: str, brief) -> str:
    """Return what is left of an output's text once the brief's own words are taken out (white space ignored).

    Ids and enum values (``port``, ``j-trade``) are not words of the brief (see ``KEY_FIELDS``), so they stay.
    """
    from kzreport.builders.markdown import md_escape

    left = re.sub(r"\s|\u2010|\u00ad", "", text)
    contents = brief_strings(brief)
    for content in sorted(contents, key=len, reverse=True):
        for form in {content, content.replace("&", "&amp;"), md_escape(content)}:
            left = left.replace(re.sub(r"\s", "", form), "")
    return left


INTERFACE_CASES = [
    ("minimal.yaml", "zh-Hans"),
    ("interface-zh-hant.yaml", "zh-Hant"),
    ("interface-en.yaml", "en"),
    ("myanmar-pipelines.yaml", "zh-Hans"),
    ("mozambique-lng.zh-Hant.yaml", "zh-Hant"),
    ("europe-gas.en.yaml", "en"),
]


@pytest.fixture(scope="module", params=INTERFACE_CASES, ids=[c[0] for c in INTERFACE_CASES])
def built(request, tmp_path_factory):
    """Build every output of a brief in one language (maps only where it has maps); return brief, tag, outputs."""
    name, tag = request.param
    out = tmp_path_factory.mktemp(tag)
    source = FIXTURES / name
    brief = load_source(source)
    formats = (("maps",) if brief.maps else ()) + ("pdf", "pptx", "md")
    build([source], BuildOptions(out_dir=out, formats=formats), Reporter(verbosity=0))
    paths = {kind: out / f"{source.stem}.{suffix}" for kind, suffix in (("pdf", "pdf"), ("deck", "pptx"), ("md", "md"))}
    paths.update({f"map {m.id}": out / "maps" / f"{m.id}.html" for m in brief.maps})
    return brief, tag, paths


def map_text(html: str) -> str:
    """Return what a map page shows or announces in words: its markup and strings, without Leaflet's code and CSS."""
    import json

    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    scripts = [s for s in re.findall(r"<script>(.*?)</script>", html, flags=re.S) if "Leaflet" not in s[:2000]]
    strings = [json.loads(f'"{m}"') for script in scripts for m in re.findall(r'"((?:[^"\\]|\\.)*)"', script)]
    text = re.sub(r"<script>.*?</script>", "", html, flags=re.S)
    return "\n".join([re.sub(r"<[^>]+>", " ", text), *(re.sub(r"<[^>]+>", " ", s) for s in strings if " " in s
                                                         or not s.isascii())])


def output_texts(paths: dict[str, Path]) -> dict[str, str]:
    """Return the text of each output."""
    texts = {"pdf": pdf_text(paths["pdf"]), "deck": deck_text(paths["deck"].read_bytes()),
             # after the front matter; `keys` are the brief's ids
             "md": re.sub(r"`[^`]*`", "", paths["md"].read_text(encoding="utf-8").split("\n---\n", 1)[1])}
    texts.update({kind: map_text(path.read_text(encoding="utf-8")) for kind, path in paths.items()
                  if kind.startswith("map ")})
    return texts


def test_no_interface_word_of_another_language(built):
    brief, tag, paths = built
    assert brief.meta.language == tag
    others = {key: message for other in LANGUAGES if other != tag
              for key, message in catalog(other, None).items()}
    own = set(catalog(tag, None).values())
    for output, text in output_texts(paths).items():
        left = interface_text(text, brief)
        if tag == "en":
            assert not HAN.findall(left), (output, "".join(HAN.findall(left))[:80])
        elif output.startswith("map "):
            pass  # Leaflet's own code and class names are Latin; the foreign-message check below still applies
        else:
            latin = set(re.findall(r"[A-Za-z]{3,}", left)) - {"kzreport", "maps"}
            assert not latin, (output, sorted(latin)[:20])
        foreign = [m for m in others.values() if len(m) >= 4 and m not in own and "{" not in m
                   and re.sub(r"\s", "", m) in left]
        assert not foreign, (output, foreign[:10])


def test_every_output_carries_the_brief_language(built):
    from lxml import etree
    from pypdf import PdfReader

    brief, tag, paths = built
    assert PdfReader(paths["pdf"]).trailer["/Root"]["/Lang"] == tag
    assert f'lang: "{tag}"' in paths["md"].read_text(encoding="utf-8")
    langs = set()
    with __import__("zipfile").ZipFile(paths["deck"]) as deck:
        for name in deck.namelist():
            if re.match(r"ppt/(slides|notesSlides)/\w+\.xml$", name):
                root = etree.fromstring(deck.read(name))
                langs |= {r.get("lang") for r in root.iter("{http://schemas.openxmlformats.org/drawingml/2006/main}rPr")}
    assert langs == {LANGUAGES[tag].office}


# PDF body face; the deck's Latin face and East Asian face (the theme part's, which runs inherit).
FACES = {"en": ("Noto-Serif", "Noto Sans", "Noto Sans CJK SC"), "zh-Hans": ("Noto-Serif-CJK-SC", "Noto Sans", "Noto Sans CJK SC"),
         "zh-Hant": ("Noto-Serif-CJK-TC", "Noto Sans", "Noto Sans CJK TC")}


def test_each_language_is_set_in_its_own_faces(built):
    import subprocess
    import zipfile

    from lxml import etree

    brief, tag, paths = built
    body, latin, east_asian = FACES[tag]
    embedded = subprocess.run(["pdffonts", str(paths["pdf"])], capture_output=True, text=True, check=True).stdout
    assert re.search(rf"\+{body}\s", embedded), embedded
    a = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
    with zipfile.ZipFile(paths["deck"]) as deck:
        slide = etree.fromstring(deck.read("ppt/slides/slide2.xml"))
        theme = etree.fromstring(deck.read("ppt/theme/theme1.xml"))
    # Runs name no face (they inherit +mj/+mn from the master), or the faces the theme part names.
    named = {(rpr.find(f"{a}latin").get("typeface") if rpr.find(f"{a}latin") is not None else None,
              rpr.find(f"{a}ea").get("typeface") if rpr.find(f"{a}ea") is not None else None)
             for rpr in slide.iter(f"{a}rPr")}
    assert named <= {(None, None), (latin, east_asian)}, named
    for scheme in ("majorFont", "minorFont"):
        fonts = theme.find(f".//{a}fontScheme/{a}{scheme}")
        assert (fonts.find(f"{a}latin").get("typeface"), fonts.find(f"{a}ea").get("typeface")) == (latin, east_asian)
