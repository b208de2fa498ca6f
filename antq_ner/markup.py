"""The editable annotation format: the original text with mentions written `[mention](TYPE)`."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CharSpan", "MarkupError", "escape", "parse_markup", "render_markup"]

_TYPE = re.compile(r"\(([A-Z][A-Z_]*)\)")
_ESCAPABLE = "[]\\"


class MarkupError(ValueError):
    """Markup that cannot be read; the message names the line."""


@dataclass(frozen=True, order=True)
class CharSpan:
    start: int
    end: int
    label: str


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def escape(text: str) -> str:
    """Text as markup: `[`, `]` and `\\` written `\\[`, `\\]` and `\\\\`."""
    return "".join("\\" + c if c in _ESCAPABLE else c for c in text)


def parse_markup(markup: str, labels: set[str] | None = None, source: str = "<markup>") -> tuple[str, list[CharSpan]]:
    """Plain text and mention spans (character offsets into the plain text).

    A mention is `[text](TYPE)`; a literal bracket or backslash is escaped with a backslash
    (`\\[`, `\\]`, `\\\\`); a backslash before any other character is itself.
    """
    plain: list[str] = []
    spans: list[CharSpan] = []
    mention_start: int | None = None  # index into `plain` where the open mention began
    opened_at = 0
    i, n = 0, len(markup)
    while i < n:
        c = markup[i]
        if c == "\\" and i + 1 < n and markup[i + 1] in _ESCAPABLE:
            plain.append(markup[i + 1])
            i += 2
            continue
        if c == "[":
            if mention_start is not None:
                raise MarkupError(f"{source}:{_line_of(markup, i)}: '[' inside a mention; write a literal bracket as \\[")
            mention_start, opened_at = len(plain), i
        elif c == "]":
            m = _TYPE.match(markup, i + 1)
            if mention_start is not None and m is None:
                raise MarkupError(
                    f"{source}:{_line_of(markup, opened_at)}: stray '[': a mention is written [text](TYPE) "
                    "with an upper-case type, a literal bracket \\["
                )
            if mention_start is None:
                raise MarkupError(
                    f"{source}:{_line_of(markup, i)}: stray ']': a mention is written [text](TYPE), "
                    "a literal bracket \\]"
                )
            mention, label = "".join(plain[mention_start:]), m.group(1)
            written = markup[opened_at : m.end()]
            if labels is not None and label not in labels:
                raise MarkupError(
                    f"{source}:{_line_of(markup, opened_at)}: unknown type {label!r} in {written!r}; "
                    f"use one of {', '.join(sorted(labels))}"
                )
            if not mention or mention != mention.strip():
                raise MarkupError(f"{source}:{_line_of(markup, opened_at)}: mention {mention!r} is empty or starts or ends with a space")
            spans.append(CharSpan(mention_start, mention_start + len(mention), label))  # `plain` holds characters
            mention_start = None
            i = m.end()
            continue
        elif c == "\n" and mention_start is not None:
            raise MarkupError(f"{source}:{_line_of(markup, opened_at)}: stray '[': a mention is written [text](TYPE) on one line, a literal bracket \\[")
        else:
            plain.append(c)
        i += 1
    if mention_start is not None:
        raise MarkupError(f"{source}:{_line_of(markup, opened_at)}: stray '[': a mention is written [text](TYPE), a literal bracket \\[")
    return "".join(plain), spans


def render_markup(text: str, spans: list[CharSpan]) -> str:
    """Inverse of `parse_markup`: literal brackets and backslashes escaped."""
    out: list[str] = []
    pos = 0
    for span in sorted(spans):
        if span.start < pos:
            raise MarkupError(f"overlapping mentions at character {span.start}")
        out.append(escape(text[pos : span.start]))
        out.append(f"[{escape(text[span.start:span.end])}]({span.label})")
        pos = span.end
    out.append(escape(text[pos:]))
    return "".join(out)
