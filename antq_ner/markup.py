"""The editable annotation format: the original text with mentions written `[mention](TYPE)`."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CharSpan", "MarkupError", "parse_markup", "render_markup"]

_MENTION = re.compile(r"\[([^\[\]\n]+)\]\(([A-Z][A-Z_]*)\)")


class MarkupError(ValueError):
    """Markup that cannot be read; the message names the line."""


@dataclass(frozen=True, order=True)
class CharSpan:
    start: int
    end: int
    label: str


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def parse_markup(markup: str, labels: set[str] | None = None, source: str = "<markup>") -> tuple[str, list[CharSpan]]:
    """Plain text and mention spans (character offsets into the plain text)."""
    plain: list[str] = []
    spans: list[CharSpan] = []
    pos = length = 0
    for m in _MENTION.finditer(markup):
        plain.append(markup[pos : m.start()])
        length += m.start() - pos
        mention, label = m.group(1), m.group(2)
        if labels is not None and label not in labels:
            raise MarkupError(
                f"{source}:{_line_of(markup, m.start())}: unknown type {label!r} in {m.group()!r}; "
                f"use one of {', '.join(sorted(labels))}"
            )
        if mention != mention.strip():
            raise MarkupError(f"{source}:{_line_of(markup, m.start())}: mention {mention!r} starts or ends with a space")
        spans.append(CharSpan(length, length + len(mention), label))
        plain.append(mention)
        length += len(mention)
        pos = m.end()
    plain.append(markup[pos:])
    text = "".join(plain)
    for ch in "[]":
        if ch in text:
            # Report the position in the markup, where the person edits.
            where = markup.find(ch, 0)
            for m in _MENTION.finditer(markup):
                if m.start() <= where < m.end():
                    where = markup.find(ch, m.end())
            raise MarkupError(
                f"{source}:{_line_of(markup, where)}: stray {ch!r}: a mention is written [text](TYPE)"
            )
    return text, spans


def render_markup(text: str, spans: list[CharSpan]) -> str:
    """Inverse of `parse_markup`."""
    out: list[str] = []
    pos = 0
    for span in sorted(spans):
        if span.start < pos:
            raise MarkupError(f"overlapping mentions at character {span.start}")
        out.append(text[pos : span.start])
        out.append(f"[{text[span.start:span.end]}]({span.label})")
        pos = span.end
    out.append(text[pos:])
    return "".join(out)
