"""The brief's text as Markdown (pandoc's dialect): for diffs, review and pandoc users.

Steps: render the brief into Markdown lines; add ``<stem>.md``. Every text from
the source is escaped, so it reads as text in any Markdown renderer (raw HTML
such as ``<script>`` never passes through).
"""

from __future__ import annotations

import json
import re

from . import Builder

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~^$@&:])")


def md_escape(text: str) -> str:
    """Return ``text`` with every Markdown-significant character backslash-escaped, on one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _metadata(brief) -> list[str]:
    """Return the YAML metadata block (JSON strings are valid YAML scalars)."""
    meta = brief.meta
    fields = {"title": meta.title, "subtitle": meta.subtitle, "author": meta.author,
              "date": meta.date, "lang": meta.language, "keywords": meta.keywords}
    lines = ["---"]
    lines += [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in fields.items() if v]
    return [*lines, "---", ""]


class _Notes:
    """Collects the article passages as numbered footnotes, in the brief's words and the article's quotation marks."""

    def __init__(self, words, article_words) -> None:
        self.words, self.article_words = words, article_words
        self.passages: list[str] = []

    def ref(self, item) -> str:
        """Return the footnote marker for the passage an item rests on ('' when there is none)."""
        if not item.passage:
            return ""
        quote = self.article_words.quoted(md_escape(item.passage))
        if getattr(item, "translation", None):
            text = self.words("passage_translated", quote=quote, translation=self.words.quoted(md_escape(item.translation)))
        else:
            text = self.words("passage", quote=quote)
        self.passages.append(text)
        return f"[^{len(self.passages)}]"

    def lines(self) -> list[str]:
        """Return the footnote definitions."""
        return [f"[^{i}]: {text}" for i, text in enumerate(self.passages, 1)]


def _claim(claim, notes: _Notes, level: str) -> list[str]:
    """Return a claim as a heading or paragraph with its evidence list."""
    head = f"{level} {md_escape(claim.text)}{notes.ref(claim)}" if level else (
        f"**{md_escape(claim.text)}**{notes.ref(claim)}")
    body = [f"- {md_escape(e.text)}" for e in claim.evidence]
    detail = [md_escape(claim.detail), ""] if claim.detail else []
    return [head, "", *detail, *body, ""]


def _section(section, notes: _Notes) -> list[str]:
    """Return one section: title, summary, headline claim, supporting claims."""
    lines = [f"## {md_escape(section.title)}", "", md_escape(section.summary), ""]
    lines += _claim(section.headline, notes, "###")
    for claim in section.claims:
        lines += _claim(claim, notes, "")
    return lines


def _figures(brief, t) -> list[str]:
    """Return the key figures as a pipe table."""
    if not brief.figures:
        return []
    rows = [f"| {md_escape(f.label)} | {md_escape(f.display)} | {f.year or ''} | {md_escape(f.shows)} |"
            for f in brief.figures]
    header = f"| {t('table_indicator')} | {t('table_value')} | {t('table_year')} | {t('table_shows')} |"
    return [f"## {t('key_figures')}", "", header, "|---|---|---|---|", *rows, ""]


def _timeline(brief, t) -> list[str]:
    """Return the timeline as a list."""
    if not brief.timeline:
        return []
    items = [f"- **{md_escape(e.when or t.date(e.date))}** {t('labelled', label=md_escape(e.title), text=md_escape(e.text))}"
             for e in brief.timeline]
    return [f"## {t('timeline')}", "", *items, ""]


def _quotes(brief, t) -> list[str]:
    """Return the quotes as block quotes with speaker and date."""
    lines = []
    for quote in brief.quotes:
        actor = brief.actor(quote.speaker)
        who = t("quote_attribution", name=md_escape(actor.name), role=md_escape(actor.role), date=t.date(quote.date))
        kind = t("indirect") if quote.indirect else ""
        lines += [f"> {md_escape(quote.text)}", ">", f"> {t('dash_attribution', text=who)}{kind}", ""]
    return [f"## {t('quotes')}", "", *lines] if lines else []


def _notes_and_sources(brief, t) -> list[str]:
    """Return the notes on other sources and the list of sources."""
    lines = []
    if brief.notes:
        lines += [f"## {t('other_sources')}", ""]
        lines += [f"- **{md_escape(n.title)}** " + t("parenthetical", text=md_escape(n.text), aside=t(
            "labelled", label=t("sources"), text=t.series(f"`{k}`" for k in n.sources))) for n in brief.notes]
        lines.append("")
    lines += [f"## {t('sources')}", ""]
    lines += [f"- `{s.key}` " + t.join_parts([md_escape(s.title), s.publisher and md_escape(s.publisher),
                                             s.date and md_escape(s.date)]) for s in brief.sources]
    return [*lines, ""]


def render_markdown(brief, t, article_words) -> str:
    """Return the whole brief as Markdown text, its own words from ``t`` (the brief's ``Words``)."""
    notes = _Notes(t, article_words)
    lines = _metadata(brief)
    lines += [f"## {t('key_judgments')}", "", f"**{md_escape(brief.thesis)}**", ""]
    lines += [f"{i}. {md_escape(j.text)}" for i, j in enumerate(brief.judgments, 1)] + [""]
    for section in brief.sections:
        lines += _section(section, notes)
    lines += _figures(brief, t) + _timeline(brief, t) + _quotes(brief, t) + _notes_and_sources(brief, t)
    lines += notes.lines()
    return "\n".join(lines).rstrip() + "\n"


class MarkdownBuilder(Builder):
    """Writes ``<stem>.md``: the brief's text in pandoc Markdown."""

    name = "md"

    def build(self, project, reporter) -> None:
        """Render the Markdown and add it to the project's outputs."""
        text = render_markdown(project.source, project.words, project.article_words)
        project.add_output(project.output_path(f"{project.stem}.md"), text.encode("utf-8"))
