"""BIO (IOB2) tags and spans, and the corpus's CoNLL files.

A span is over token indices, `end` exclusive. Malformed tag sequences raise `BioError`; nothing
is repaired silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BioError",
    "Sentence",
    "Span",
    "bio_to_spans",
    "check_bio",
    "format_conll",
    "read_conll",
    "repair_tags",
    "spans_to_bio",
    "write_conll",
]


class BioError(ValueError):
    """A malformed tag sequence or CoNLL file (the message names where; `line` is the file's line)."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    label: str


def spans_to_bio(n_tokens: int, spans: Iterable[Span]) -> list[str]:
    """Tags for `n_tokens` tokens; spans must be non-empty, in range and non-overlapping."""
    tags = ["O"] * n_tokens
    for span in sorted(spans):
        if not 0 <= span.start < span.end <= n_tokens:
            raise BioError(f"span {span} is empty or outside 0..{n_tokens}")
        if any(t != "O" for t in tags[span.start : span.end]):
            raise BioError(f"span {span} overlaps another span")
        tags[span.start] = f"B-{span.label}"
        for i in range(span.start + 1, span.end):
            tags[i] = f"I-{span.label}"
    return tags


def check_bio(tags: Sequence[str], labels: Iterable[str] | None = None) -> list[tuple[int, str]]:
    """Problems of a tag sequence as (token index, message); empty when well-formed."""
    allowed = set(labels) if labels is not None else None
    problems: list[tuple[int, str]] = []
    prev = "O"
    for i, tag in enumerate(tags):
        if tag != "O":
            prefix, _, label = tag.partition("-")
            if prefix not in ("B", "I") or not label:
                problems.append((i, f"malformed tag {tag!r} (expected O, B-TYPE or I-TYPE)"))
                prev = "O"
                continue
            if allowed is not None and label not in allowed:
                problems.append((i, f"unknown label {label!r} in {tag!r} (known: {', '.join(sorted(allowed))})"))
            if prefix == "I" and prev not in (f"B-{label}", f"I-{label}"):
                problems.append((i, f"{tag!r} follows {prev!r}; an I-{label} must follow B-{label} or I-{label}"))
        prev = tag
    return problems


def repair_tags(tags: Sequence[str]) -> list[str]:
    """A copy where an `I-X` that cannot continue an entity starts one (`B-X`), as conlleval reads it."""
    out: list[str] = []
    prev = "O"
    for tag in tags:
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        out.append(tag)
        prev = tag
    return out


def bio_to_spans(tags: Sequence[str]) -> list[Span]:
    """Spans of a well-formed IOB2 sequence; raises `BioError` on the first problem."""
    problems = check_bio(tags)
    if problems:
        i, message = problems[0]
        raise BioError(f"token {i}: {message}")
    spans: list[Span] = []
    start = label = None
    for i, tag in enumerate(list(tags) + ["O"]):
        if start is not None and not tag.startswith("I-"):
            spans.append(Span(start, i, label))
            start = None
        if tag.startswith("B-"):
            start, label = i, tag[2:]
    return spans


@dataclass(frozen=True)
class Sentence:
    """One annotated sentence: tokens, their tags, and where it was read from."""

    doc_id: str
    sent_id: str
    text: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    line: int = 0  # first line in the file it was read from (0 when built in memory)
    token_lines: tuple[int, ...] = field(default=(), compare=False)


def format_conll(sentences: Iterable[Sentence]) -> str:
    out: list[str] = []
    for s in sentences:
        out.append(f"# doc_id = {s.doc_id}")
        out.append(f"# sent_id = {s.sent_id}")
        out.append(f"# text = {s.text}")
        out.extend(f"{tok}\t{tag}" for tok, tag in zip(s.tokens, s.tags))
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def write_conll(path: Path, sentences: Iterable[Sentence]) -> None:
    from .io_utils import atomic_write_text

    atomic_write_text(path, format_conll(sentences))


def read_conll(path: Path) -> list[Sentence]:
    """Read a `token<TAB>tag` file; structural problems raise `BioError` naming file and line.

    Tag well-formedness is not checked here (the validator reports it with line numbers).
    """
    sentences: list[Sentence] = []
    meta: dict[str, str] = {}
    tokens: list[str] = []
    tags: list[str] = []
    token_lines: list[int] = []
    first_line = 0

    def flush() -> None:
        nonlocal meta, tokens, tags, token_lines, first_line
        if tokens or meta:
            for key in ("doc_id", "sent_id", "text"):
                if key not in meta:
                    raise BioError(f"{path}:{first_line}: sentence without '# {key} = …' comment", first_line)
            sentences.append(
                Sentence(
                    meta["doc_id"], meta["sent_id"], meta["text"], tuple(tokens), tuple(tags), first_line, tuple(token_lines)
                )
            )
        meta, tokens, tags, token_lines, first_line = {}, [], [], [], 0

    with open(path, encoding="utf-8", newline="\n") as f:
        for lineno, raw_line in enumerate(f, start=1):
            line = raw_line.rstrip("\n")
            if not line.strip():
                flush()
                continue
            if not first_line:
                first_line = lineno
            if line.startswith("# "):
                key, sep, value = line[2:].partition(" = ")
                if not sep:
                    raise BioError(f"{path}:{lineno}: comment is not '# key = value': {line!r}", lineno)
                meta[key] = value
                continue
            parts = line.split("\t")
            if len(parts) != 2 or not parts[0] or not parts[1]:
                raise BioError(f"{path}:{lineno}: expected 'token<TAB>tag', got {line!r}", lineno)
            tokens.append(parts[0])
            tags.append(parts[1])
            token_lines.append(lineno)
    flush()
    return sentences
