"""Annotated tasks from a tool's export into the corpus: checked against the corpus's tokens, then
written as raw text, markup and a `documents.yaml` entry, built into BIO and validated.

Everything is checked before anything is written: one bad task names itself (its file and task id)
and nothing is written. Each file is replaced atomically, `documents.yaml` last; a document
already in the corpus is only overwritten with `replace`.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .annotation_tools import ExportedTask
from .corpus import CorpusDocument, CorpusError, build_corpus, load_documents, sentences_from_markup
from .io_utils import atomic_write_text
from .markup import CharSpan, MarkupError, parse_markup, render_markup
from .text import clean_text, span_in_clean, split_sentences
from .validate import validate_corpus

__all__ = ["CheckedDocument", "ImportRefused", "ImportResult", "check_task", "import_tasks"]


class ImportRefused(ValueError):
    """Tasks that cannot enter the corpus; `problems` holds one message per problem, each naming its task."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class CheckedDocument:
    doc_id: str
    where: str
    text: str  # as the corpus keeps it: NFC, invisible characters removed
    spans: tuple[CharSpan, ...]  # sorted, on token boundaries, each within one sentence, none overlapping


@dataclass(frozen=True)
class ImportResult:
    written: list[str]  # document ids written (new or replaced)
    unchanged: list[str]  # already in the corpus with the same text and mentions
    notes: list[str]  # what was decided on the way (snapped edges, cleaned text, replaced documents)
    problems: list[str]  # what the validator found after the build (empty when the corpus is valid)


def _edge(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith("P")


def check_task(task: ExportedTask, types: Sequence[str]) -> tuple[CheckedDocument | None, list[str], list[str]]:
    """The task's text and spans as the corpus will hold them, with notes and problems.

    The text is cleaned as predict.py reads it (`text.clean_text`: NFC, zero-width characters) and
    the spans mapped onto it. A span whose edge cuts a token is moved inward only where what it
    cuts off is whitespace or punctuation (noted); otherwise it is a problem, like a span whose text
    differs from the task text at its offsets, a type outside `types`, a span across two sentences,
    or spans that overlap.
    """
    where, notes, problems = task.where, [], []
    if not task.text.strip():
        return None, notes, [f"{where}: the text is empty"]
    clean, starts, ends = clean_text(task.text)
    if clean != task.text:
        notes.append(f"{where}: text cleaned as predict.py reads it (NFC, invisible characters dropped: "
                     f"{len(task.text)} → {len(clean)} characters); raw/ holds the cleaned text")
    sentences = split_sentences(clean)
    token_starts = {t.start: k for k, sent in enumerate(sentences) for t in sent}
    token_ends = {t.end: k for k, sent in enumerate(sentences) for t in sent}
    spans: list[tuple[CharSpan, str]] = []
    for s in task.spans:
        shown = repr(task.text[s.start:s.end]) if 0 <= s.start < s.end <= len(task.text) else "?"
        region = f"region {shown} ({s.start}–{s.end}, {s.label})"
        if s.label not in types:
            problems.append(f"{where}: {region}: type {s.label!r} is not in the label set ({', '.join(types)})")
            continue
        if not 0 <= s.start < s.end <= len(task.text):
            problems.append(f"{where}: {region}: offsets outside the text (0–{len(task.text)}) or empty")
            continue
        if s.text is not None and s.text != task.text[s.start : s.end]:
            problems.append(f"{where}: {region}: its text {s.text!r} differs from the task text at those offsets; "
                            "was the text edited after annotation?")
            continue
        start, end = span_in_clean(starts, ends, s.start, s.end)
        if (start, end) != (s.start, s.end) or start not in token_starts or end not in token_ends:
            a, b = start, end
            while a < b and a not in token_starts and _edge(clean[a]):
                a += 1
            while b > a and b not in token_ends and _edge(clean[b - 1]):
                b -= 1
            if a >= b or a not in token_starts or b not in token_ends:
                cut = [t.text for sent in sentences for t in sent if t.start < end and t.end > start
                       and (t.start < start or t.end > end)]
                problems.append(f"{where}: {region} cuts a token ({' | '.join(cut)}): move its edge to a token "
                                "boundary (a syllable, a number or a punctuation mark)")
                continue
            if (a, b) != (start, end):
                notes.append(f"{where}: {region} snapped to {clean[a:b]!r} (whitespace or punctuation at its edge)")
            start, end = a, b
        if token_starts[start] != token_ends[end]:
            problems.append(f"{where}: {region} crosses a sentence boundary: annotate each sentence's part")
            continue
        spans.append((CharSpan(start, end, s.label), region))
    spans.sort()
    kept: list[CharSpan] = []
    for k, (span, region) in enumerate(spans):
        if kept and span == kept[-1]:
            notes.append(f"{where}: {region} given twice; kept once")
        elif kept and span.start < kept[-1].end:
            problems.append(f"{where}: {spans[k - 1][1]} and {region} overlap: a syllable has one tag, keep one")
        else:
            kept.append(span)
    if problems:
        return None, notes, problems
    return CheckedDocument(task.doc_id, where, clean, tuple(kept)), notes, problems


def _existing(annotations: Path, doc_id: str) -> tuple[str, tuple[CharSpan, ...]] | None:
    """The corpus's raw text and mentions of `doc_id`, or None if it has no file of that name."""
    raw, markup = annotations / "raw" / f"{doc_id}.txt", annotations / "markup" / f"{doc_id}.txt"
    if not raw.is_file() and not markup.is_file():
        return None
    text = raw.read_text(encoding="utf-8") if raw.is_file() else ""
    try:
        spans = tuple(sorted(parse_markup(markup.read_text(encoding="utf-8"))[1])) if markup.is_file() else ()
    except MarkupError:
        spans = ()
    return text, spans


def _documents_text(path: Path, entries: list[dict]) -> str:
    """documents.yaml with `entries` appended to its list, its comments and layout kept."""
    text = path.read_text(encoding="utf-8") if path.is_file() else "documents:\n"
    old = (yaml.safe_load(text) or {}).get("documents") or []
    if not entries:
        return text
    m = re.search(r"^( *)- id:", text, re.MULTILINE)
    indent = m.group(1) if m else "  "
    block = yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=1000)
    new = (text if text.endswith("\n") else text + "\n") + "".join(
        indent + line if line.strip() else line for line in block.splitlines(keepends=True)
    )
    try:
        appended = (yaml.safe_load(new) or {}).get("documents")
    except yaml.YAMLError:
        appended = None
    if appended != old + entries:  # a layout appending cannot extend (e.g. `documents: []`): write it anew
        new = yaml.safe_dump({"documents": old + entries}, allow_unicode=True, sort_keys=False, width=1000)
    return new


def import_tasks(tasks: Sequence[ExportedTask], annotations: Path, types: Sequence[str],
                 replace: bool = False) -> ImportResult:
    """Write `tasks` into the corpus folder `annotations` (raw/, markup/, documents.yaml), then build
    its BIO files and validate them. Raises `ImportRefused` with every problem before writing anything."""
    annotations = Path(annotations)
    types = tuple(types)
    notes: list[str] = []
    problems: list[str] = []
    documents_path = annotations / "documents.yaml"
    try:
        listed = {d.id for d in load_documents(documents_path)} if documents_path.is_file() else set()
        if listed:  # the corpus must build as it is, or the import would leave it half-built
            with tempfile.TemporaryDirectory() as tmp:
                build_corpus(annotations, types, out_dir=Path(tmp))
    except (CorpusError, MarkupError, yaml.YAMLError) as e:
        raise ImportRefused([f"{annotations}: the corpus does not build as it is ({e}); fix it first"]) from None
    seen: dict[str, str] = {}
    to_write: list[CheckedDocument] = []
    unchanged: list[str] = []
    for task in tasks:
        doc, task_notes, task_problems = check_task(task, types)
        notes.extend(task_notes)
        problems.extend(task_problems)
        if task.doc_id in seen:
            problems.append(f"{task.where}: document id {task.doc_id!r} is also {seen[task.doc_id]}'s; ids must be unique")
            continue
        seen[task.doc_id] = task.where
        if doc is None:
            continue
        try:  # the markup must build into sentences, as `corpus build` will do
            sentences_from_markup(CorpusDocument(doc.doc_id, "", "", "", ()), render_markup(doc.text, list(doc.spans)),
                                  doc.text, types, f"{doc.where} ({doc.doc_id})")
        except (CorpusError, MarkupError) as e:
            problems.append(str(e))
            continue
        existing = _existing(annotations, doc.doc_id)
        if existing == (doc.text, doc.spans):
            if doc.doc_id in listed:
                unchanged.append(doc.doc_id)
            else:  # files of an import interrupted before documents.yaml: list them
                to_write.append(doc)
            continue
        if existing is not None or doc.doc_id in listed:
            what = "other text" if existing is None or existing[0] != doc.text else "other mentions"
            if not replace:
                problems.append(f"{doc.where}: document {doc.doc_id!r} is already in {annotations} with {what}; "
                                "import with --replace to overwrite it, or give the task another data.doc_id")
                continue
            notes.append(f"{doc.where}: document {doc.doc_id!r} replaced ({what})")
        to_write.append(doc)
    if problems:
        raise ImportRefused(problems)
    entries = [{"id": d.doc_id, "source": d.where} for d in to_write if d.doc_id not in listed]
    new_documents = _documents_text(documents_path, entries)
    for doc in to_write:
        atomic_write_text(annotations / "raw" / f"{doc.doc_id}.txt", doc.text)
        atomic_write_text(annotations / "markup" / f"{doc.doc_id}.txt", render_markup(doc.text, list(doc.spans)))
    atomic_write_text(documents_path, new_documents)
    build_corpus(annotations, types)
    found = [str(p) for p in validate_corpus(annotations / "bio", labels=types)]
    return ImportResult([d.doc_id for d in to_write], unchanged, notes, found)
