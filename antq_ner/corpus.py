"""The annotated corpus: document registry, markup → sentences → BIO files, statistics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .bio import Sentence, Span, bio_to_spans, read_conll, spans_to_bio, write_conll
from .labels import ENTITY_TYPES
from .markup import CharSpan, MarkupError, parse_markup
from .text import clean_text, is_clean, span_in_clean, split_sentences

__all__ = [
    "CorpusDocument",
    "CorpusError",
    "build_corpus",
    "corpus_statistics",
    "format_statistics",
    "load_documents",
    "load_sentences",
    "sentences_from_markup",
    "topic_statistics",
]



class CorpusError(ValueError):
    """An annotation that cannot become BIO; the message names file and line."""


@dataclass(frozen=True)
class CorpusDocument:
    id: str
    source: str  # file name in ../shared/reports/ (empty for a report the team wrote)
    place: str
    date: str
    exclude: tuple[str, ...]
    synthetic: bool = False  # written by the team (annotations/synthetic/): training data only
    topic: str = ""
    subject: str = ""


_DOCUMENT_KEYS = {"id", "source", "place", "date", "exclude", "synthetic", "topic", "subject"}


def load_documents(path: Path) -> list[CorpusDocument]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    docs = []
    for i, entry in enumerate(data.get("documents", [])):
        unknown = set(entry) - _DOCUMENT_KEYS
        if unknown or "id" not in entry:
            raise CorpusError(
                f"{path}: document {i + 1}: needs 'id'; unknown keys {sorted(unknown)} (known: {sorted(_DOCUMENT_KEYS)})"
            )
        docs.append(
            CorpusDocument(
                entry["id"], entry.get("source", ""), entry.get("place", ""), str(entry.get("date", "")),
                tuple(entry.get("exclude") or ()), bool(entry.get("synthetic", False)), entry.get("topic", ""),
                entry.get("subject", ""),
            )
        )
    return docs


def _line_text(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start : len(text) if end < 0 else end]


def sentences_from_markup(
    doc: CorpusDocument, markup: str, raw: str, labels: tuple[str, ...] = ENTITY_TYPES, source: str = ""
) -> list[Sentence]:
    """Sentences with BIO tags of one document; every mention must sit on token boundaries.

    The markup must give back `raw` exactly; the sentences are those of the text as predict.py reads
    it (`text.clean_text`: NFC, invisible characters dropped), so an NFD report builds NFC BIO.
    """
    source = source or f"{doc.id}.txt"
    text, char_spans = parse_markup(markup, set(labels), source)
    if text != raw:
        at = next((i for i, (a, b) in enumerate(zip(text, raw)) if a != b), min(len(text), len(raw)))
        raise CorpusError(
            f"{source}:{text.count(chr(10), 0, at) + 1}: the markup without its brackets differs from the raw "
            f"report at character {at} ({text[at:at + 20]!r} vs {raw[at:at + 20]!r}); only add [..](TYPE)"
        )
    if not is_clean(text):  # NFD, zero-width characters: the corpus holds the text as predict.py reads it
        text, starts, ends = clean_text(text)
        char_spans = [CharSpan(*span_in_clean(starts, ends, c.start, c.end), c.label) for c in char_spans]
    excluded = set(doc.exclude)
    pending = sorted(char_spans)
    sentences: list[Sentence] = []
    for tokens in split_sentences(text):
        s_start, s_end = tokens[0].start, tokens[-1].end
        inside = [c for c in pending if c.start < s_end and c.end > s_start]
        if _line_text(text, s_start).strip() in excluded:
            if inside:
                raise CorpusError(f"{source}:{text.count(chr(10), 0, s_start) + 1}: a mention on an excluded line")
            continue
        starts = {t.start: i for i, t in enumerate(tokens)}
        ends = {t.end: i + 1 for i, t in enumerate(tokens)}
        spans = []
        for c in inside:
            line = text.count("\n", 0, c.start) + 1
            if c.start < s_start or c.end > s_end:
                raise CorpusError(f"{source}:{line}: mention {text[c.start:c.end]!r} crosses a sentence boundary")
            if c.start not in starts or c.end not in ends:
                raise CorpusError(
                    f"{source}:{line}: mention {text[c.start:c.end]!r} does not start and end on token boundaries "
                    f"(tokens here: {' | '.join(t.text for t in tokens if t.end > c.start - 8 and t.start < c.end + 8)})"
                )
            spans.append(Span(starts[c.start], ends[c.end], c.label))
        sentences.append(
            Sentence(
                doc_id=doc.id,
                sent_id=f"{doc.id}-{len(sentences) + 1:03d}",
                text=text[s_start:s_end],
                tokens=tuple(t.text for t in tokens),
                tags=tuple(spans_to_bio(len(tokens), spans)),
            )
        )
    return sentences


def build_corpus(
    annotations: Path, labels: tuple[str, ...] = ENTITY_TYPES, out_dir: Path | None = None
) -> dict[str, list[Sentence]]:
    """Read `markup/`, `raw/` and `documents.yaml` under `annotations`; write `<out_dir>/<doc_id>.conll`.

    `out_dir` defaults to `annotations/bio`.
    """
    annotations = Path(annotations)
    out_dir = Path(out_dir) if out_dir else annotations / "bio"
    corpus = {}
    for doc in load_documents(annotations / "documents.yaml"):
        markup_path = annotations / "markup" / f"{doc.id}.txt"
        raw_path = annotations / "raw" / f"{doc.id}.txt"
        for p in (markup_path, raw_path):
            if not p.is_file():
                raise CorpusError(f"{p}: missing (documents.yaml lists {doc.id!r})")
        try:
            corpus[doc.id] = sentences_from_markup(
                doc, markup_path.read_text(encoding="utf-8"), raw_path.read_text(encoding="utf-8"), labels, str(markup_path)
            )
        except MarkupError as e:
            raise CorpusError(str(e)) from None
    for doc_id, sentences in corpus.items():
        write_conll(out_dir / f"{doc_id}.conll", sentences)
    return corpus


def load_sentences(bio_dir: Path, doc_ids: list[str] | tuple[str, ...]) -> list[Sentence]:
    """Sentences of the named documents, in the given order, from `bio_dir/<doc_id>.conll`."""
    sentences: list[Sentence] = []
    for doc_id in doc_ids:
        path = Path(bio_dir) / f"{doc_id}.conll"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no annotation file for article {doc_id!r}")
        sentences.extend(read_conll(path))
    return sentences


def corpus_statistics(
    corpus: dict[str, list[Sentence]], types: Sequence[str] = ENTITY_TYPES
) -> dict[str, dict[str, int]]:
    """Sentences, tokens and mentions of each type per document: `types` first, then any other type
    the data has (never dropped silently), alphabetically."""
    counts = {doc_id: Counter(span.label for s in sentences for span in bio_to_spans(s.tags))
              for doc_id, sentences in corpus.items()}
    others = sorted({t for c in counts.values() for t in c} - set(types))
    return {
        doc_id: {"sentences": len(sentences), "tokens": sum(len(s.tokens) for s in sentences),
                 **{t: counts[doc_id].get(t, 0) for t in (*types, *others)}}
        for doc_id, sentences in corpus.items()
    }


def topic_statistics(stats: dict[str, dict[str, int]], docs: list[CorpusDocument]) -> dict[str, dict[str, int]]:
    """`corpus_statistics` summed by document topic, with the number of reports per topic."""
    topic_of = {d.id: d.topic or "(none)" for d in docs}
    out: dict[str, Counter] = {}
    for doc_id, row in stats.items():
        out.setdefault(topic_of[doc_id], Counter({"reports": 0})).update({"reports": 1, **row})
    columns = ["reports", *next(iter(stats.values()))]
    return {topic: {c: row[c] for c in columns} for topic, row in out.items()}


def format_statistics(stats: dict[str, dict[str, int]], key: str = "article") -> str:
    """A Markdown table, one row per key (article or topic), with a total row."""
    columns = list(next(iter(stats.values())))
    rows = [[key, *columns], ["---"] * (len(columns) + 1)]
    total = Counter()
    for name, row in stats.items():
        rows.append([name, *(str(row[c]) for c in columns)])
        total.update(row)
    rows.append(["**total**", *(str(total[c]) for c in columns)])
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)
