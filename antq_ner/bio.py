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
    "read_predictions",
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
    line: int = field(default=0, compare=False)  # first line in the file it was read from (0: built in memory)
    token_lines: tuple[int, ...] = field(default=(), compare=False)


def format_conll(sentences: Iterable[Sentence], predicted: Iterable[Sequence[str]] | None = None) -> str:
    """The corpus format; with `predicted`, a third column (`token<TAB>gold<TAB>predicted`)."""
    out: list[str] = []
    sentences = list(sentences)
    columns = list(predicted) if predicted is not None else [None] * len(sentences)
    for s, pred in zip(sentences, columns):
        out.append(f"# doc_id = {s.doc_id}")
        out.append(f"# sent_id = {s.sent_id}")
        out.append(f"# text = {s.text}")
        rows = zip(s.tokens, s.tags) if pred is None else zip(s.tokens, s.tags, pred)
        out.extend("\t".join(row) for row in rows)
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def write_conll(path: Path, sentences: Iterable[Sentence]) -> None:
    from .io_utils import atomic_write_text

    atomic_write_text(path, format_conll(sentences))


def read_conll(path: Path) -> list[Sentence]:
    """Read a `token<TAB>tag` file; structural problems raise `BioError` naming file and line.

    Tag well-formedness is not checked here (the validator reports it with line numbers).
    """
    return _read_columns(path, 2)[0]


def read_predictions(path: Path) -> tuple[list[Sentence], list[list[str]]]:
    """Gold sentences and predicted tags from a `token<TAB>gold<TAB>predicted` file."""
    sentences, extra = _read_columns(path, 3)
    return sentences, [list(column) for column in extra]


def _read_columns(path: Path, n_columns: int) -> tuple[list[Sentence], list[tuple[str, ...]]]:
    sentences: list[Sentence] = []
    extras: list[tuple[str, ...]] = []
    meta: dict[str, str] = {}
    rows: list[list[str]] = []
    token_lines: list[int] = []
    first_line = 0
    expected = "token<TAB>tag" if n_columns == 2 else "token<TAB>gold<TAB>predicted"

    def flush() -> None:
        nonlocal meta, rows, token_lines, first_line
        if rows or meta:
            for key in ("doc_id", "sent_id", "text"):
                if key not in meta:
                    raise BioError(f"{path}:{first_line}: sentence without '# {key} = …' comment", first_line)
            columns = list(zip(*rows)) or [()] * n_columns
            sentences.append(
                Sentence(
                    meta["doc_id"], meta["sent_id"], meta["text"], tuple(columns[0]), tuple(columns[1]), first_line,
                    tuple(token_lines),
                )
            )
            extras.append(tuple(columns[2]) if n_columns == 3 else ())
        meta, rows, token_lines, first_line = {}, [], [], 0

    with open(path, encoding="utf-8", newline="\n") as f:
        for lineno, raw_line in enumerate(f, start=1):
            line = raw_line.removesuffix("\n").removesuffix("\r")  # Windows line ends read as line ends
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
            if len(parts) != n_columns or not all(parts):
                raise BioError(f"{path}:{lineno}: expected '{expected}', got {line!r}", lineno)
            rows.append(parts)
            token_lines.append(lineno)
    flush()
    return sentences, extras
