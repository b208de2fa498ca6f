"""Validator of a folder of BIO files against the raw reports they annotate."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .bio import BioError, Sentence, check_bio, read_conll
from .corpus import load_documents
from .labels import ENTITY_TYPES
from .text import clean_text

__all__ = ["Problem", "validate_corpus"]


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"{line}:{pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


def _skip_gap(raw: str, pos: int, excluded: set[str]) -> int:
    """Skip whitespace and whole lines of excluded furniture from `pos`."""
    while True:
        while pos < len(raw) and raw[pos].isspace():
            pos += 1
        line_start = raw.rfind("\n", 0, pos) + 1
        line_end = raw.find("\n", pos)
        line_end = len(raw) if line_end < 0 else line_end
        if pos < len(raw) and not raw[line_start:pos].strip() and raw[pos:line_end].strip() in excluded:
            pos = line_end
            continue
        return pos


def _check_against_raw(path: Path, sentences: list[Sentence], raw_path: Path, excluded: set[str]) -> list[Problem]:
    raw = clean_text(raw_path.read_text(encoding="utf-8"))[0]  # as the corpus build reads it
    problems: list[Problem] = []
    pos = 0
    for s in sentences:
        pos = _skip_gap(raw, pos, excluded)
        start = pos
        for k, token in enumerate(s.tokens):
            if k:
                while pos < len(raw) and raw[pos].isspace():
                    pos += 1
            if not raw.startswith(token, pos):
                found = raw[pos : pos + max(len(token), 12)]
                problems.append(
                    Problem(
                        str(path), s.token_lines[k] if s.token_lines else s.line,
                        f"token {token!r} does not give back the raw text: {raw_path.name}:{_line_col(raw, pos)} "
                        f"has {found!r} (tokens must be the report's text in order; regenerate with "
                        "`antq-ner corpus build`)",
                    )
                )
                return problems
            pos += len(token)
        if s.tokens and raw[start:pos] != s.text:
            problems.append(Problem(str(path), s.line, f"'# text' differs from the raw text {raw[start:pos]!r}"))
    rest = _skip_gap(raw, pos, excluded)
    if rest < len(raw):
        problems.append(
            Problem(
                str(path), sentences[-1].line if sentences else 0,
                f"raw text from {raw_path.name}:{_line_col(raw, rest)} ({raw[rest:rest + 40]!r}) is not annotated "
                "and not listed as excluded furniture in documents.yaml",
            )
        )
    return problems


def validate_corpus(
    bio_dir: Path, raw_dir: Path | None = None, documents: Path | None = None, labels=ENTITY_TYPES
) -> list[Problem]:
    """All problems found, each naming file and line; an empty list means the corpus is valid."""
    bio_dir = Path(bio_dir)
    raw_dir = Path(raw_dir) if raw_dir else bio_dir.parent / "raw"
    documents = Path(documents) if documents else bio_dir.parent / "documents.yaml"
    excluded = {d.id: set(d.exclude) for d in load_documents(documents)} if documents.is_file() else {}
    problems: list[Problem] = []
    seen_ids: dict[str, str] = {}
    annotated: set[str] = set()
    files = sorted(bio_dir.glob("*.conll"))
    if not files:
        problems.append(Problem(str(bio_dir), 0, "no .conll files"))
    for path in files:
        try:
            sentences = read_conll(path)
        except BioError as e:
            annotated.add(path.stem)  # the file exists; its report is not unannotated
            problems.append(Problem(str(path), e.line, str(e).removeprefix(f"{path}:{e.line}: ")))
            continue
        by_doc: dict[str, list[Sentence]] = {}
        for s in sentences:
            by_doc.setdefault(s.doc_id, []).append(s)
            if not s.tokens:
                problems.append(Problem(str(path), s.line, f"empty sentence {s.sent_id!r} (no tokens)"))
            if s.sent_id in seen_ids:
                problems.append(Problem(str(path), s.line, f"duplicate sent_id {s.sent_id!r} (first at {seen_ids[s.sent_id]})"))
            else:
                seen_ids[s.sent_id] = f"{path.name}:{s.line}"
            for value, line in [(s.text, s.line)] + list(zip(s.tokens, s.token_lines)):
                if not unicodedata.is_normalized("NFC", value):
                    problems.append(Problem(str(path), line, f"text {value!r} is not NFC (normalise the file to NFC)"))
            for i, message in check_bio(s.tags, labels):
                problems.append(Problem(str(path), s.token_lines[i], message))
        for doc_id, doc_sentences in by_doc.items():
            annotated.add(doc_id)
            raw_path = raw_dir / f"{doc_id}.txt"
            if not raw_path.is_file():
                problems.append(Problem(str(path), doc_sentences[0].line, f"no raw report {raw_path} for doc_id {doc_id!r}"))
                continue
            problems.extend(_check_against_raw(path, doc_sentences, raw_path, excluded.get(doc_id, set())))
    for raw_path in sorted(raw_dir.glob("*.txt")):
        if raw_path.stem not in annotated:
            problems.append(Problem(str(raw_path), 0, f"report {raw_path.name} has no annotations in {bio_dir}"))
    return sorted(problems)
