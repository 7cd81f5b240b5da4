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
    """Collects the article passages as numbered footnotes."""

    def __init__(self) -> None:
        self.passages: list[str] = []

    def ref(self, passage: str | None) -> str:
        """Return the footnote marker for a passage ('' when there is none)."""
        if not passage:
            return ""
        self.passages.append(passage)
        return f"[^{len(self.passages)}]"

    def lines(self) -> list[str]:
        """Return the footnote definitions."""
        return [f"[^{i}]: 原文：「{md_escape(p)}」" for i, p in enumerate(self.passages, 1)]


def _claim(claim, notes: _Notes, level: str) -> list[str]:
    """Return a claim as a heading or paragraph with its evidence list."""
    head = f"{level} {md_escape(claim.text)}{notes.ref(claim.passage)}" if level else (
        f"**{md_escape(claim.text)}**{notes.ref(claim.passage)}")
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


def _figures(brief) -> list[str]:
    """Return the key figures as a pipe table."""
    if not brief.figures:
        return []
    rows = [f"| {md_escape(f.label)} | {md_escape(f.display)} | {f.year or ''} | {md_escape(f.shows)} |"
            for f in brief.figures]
    return ["## 关键数字", "", "| 指标 | 数值 | 年份 | 说明 |", "|---|---|---|---|", *rows, ""]


def _timeline(brief) -> list[str]:
    """Return the timeline as a list."""
    if not brief.timeline:
        return []
    items = [f"- **{md_escape(e.when or e.date)}** {md_escape(e.title)}：{md_escape(e.text)}" for e in brief.timeline]
    return ["## 时间线", "", *items, ""]


def _quotes(brief) -> list[str]:
    """Return the quotes as block quotes with speaker and date."""
    lines = []
    for quote in brief.quotes:
        speaker = brief.actor(quote.speaker).name
        kind = "（转述）" if quote.indirect else ""
        lines += [f"> {md_escape(quote.text)}", ">", f"> — {md_escape(speaker)}，{quote.date}{kind}", ""]
    return ["## 引语", "", *lines] if lines else []


def _notes_and_sources(brief) -> list[str]:
    """Return the notes on other sources and the list of sources."""
    lines = []
    if brief.notes:
        lines += ["## 说明：其他来源与原文的差异", ""]
        lines += [f"- **{md_escape(n.title)}** {md_escape(n.text)}（来源：{', '.join(n.sources)}）" for n in brief.notes]
        lines.append("")
    lines += ["## 来源", ""]
    lines += [f"- `{s.key}` {md_escape(s.title)}" + (f"，{md_escape(s.publisher)}" if s.publisher else "")
              + (f"，{md_escape(s.date)}" if s.date else "") for s in brief.sources]
    return [*lines, ""]


def render_markdown(brief) -> str:
    """Return the whole brief as Markdown text."""
    notes = _Notes()
    lines = _metadata(brief)
    lines += ["## 核心判断", "", f"**{md_escape(brief.thesis)}**", ""]
    lines += [f"{i}. {md_escape(j.text)}" for i, j in enumerate(brief.judgments, 1)] + [""]
    for section in brief.sections:
        lines += _section(section, notes)
    lines += _figures(brief) + _timeline(brief) + _quotes(brief) + _notes_and_sources(brief)
    lines += notes.lines()
    return "\n".join(lines).rstrip() + "\n"


class MarkdownBuilder(Builder):
    """Writes ``<stem>.md``: the brief's text in pandoc Markdown."""

    name = "md"

    def build(self, project, reporter) -> None:
        """Render the Markdown and add it to the project's outputs."""
        text = render_markdown(project.source)
        project.add_output(project.output_path(f"{project.stem}.md"), text.encode("utf-8"))
