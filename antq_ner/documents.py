"""Documents in, entities out: reading user inputs, tagging them with a checkpoint, writing the formats.

Reading (`read_inputs`), tagging (`iter_predictions`, over `inference.Tagger`) and writing
(`format_*`, `write_predictions`, the several-process parts) are separate, typed functions; predict.py's
run over them (its two passes, exit statuses, standard output) is `cli.predict_main`. All inputs are
read and checked before the model is loaded or anything is written, so a bad input leaves no output
behind (unless --skip-errors); they are then read again as they are tagged (JSONL line by line), so no
input is held whole.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .bio import Sentence, bio_to_spans, format_conll
from .markup import CharSpan, render_markup
from .text import Token, clean_text, read_sentences

__all__ = [
    "FORMATS",
    "InputDocument",
    "InputError",
    "Prediction",
    "check_output_path",
    "corpus_id",
    "entities",
    "format_conll_document",
    "format_jsonl",
    "format_markup",
    "iter_predictions",
    "join_parts",
    "part_path",
    "predict_documents",
    "read_inputs",
    "split_markup_output",
    "stdin_bytes",
    "write_predictions",
]

FORMATS = ("jsonl", "conll", "markup")
PROGRESS_MIN_DOCUMENTS = 5  # a progress bar (stderr, TTY only) for more documents than this
MARKUP_HEADER = "# id = "


@dataclass(frozen=True)
class InputDocument:
    id: str
    text: str
    source: str  # the file it was read from, "-" for standard input
    line: int = 0  # its line in a JSONL file; 0 for a whole file


class InputError(ValueError):
    """An input that cannot be read; the message starts with `FILE:` or `FILE:LINE:`."""


@dataclass(frozen=True)
class Prediction:
    document: InputDocument
    sentences: list[list[Token]]
    tags: list[list[str]]  # well-formed IOB2, one per syllable token
    scores: list[list[float]]
    entities: list[dict]


# --------------------------------------------------------------------------------------------- reading


def _decode(data: bytes, source: str, first_line: int = 1) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = first_line + data.count(b"\n", 0, e.start)
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(
            f"{source}:{line}: invalid UTF-8 (byte {data[e.start:e.start + 1]!r} at column {column}); "
            "convert the file to UTF-8"
        ) from None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or directory") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None


def _jsonl_lines(path: Path) -> Iterator[bytes]:
    """The file's lines, read one at a time (an archive of documents need not fit in memory)."""
    try:
        with open(path, "rb") as f:
            for k, line in enumerate(f):
                if k == 0:
                    line = line.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark, as some editors write
                yield line.removesuffix(b"\n")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or directory") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None


def _read_jsonl(path: Path, lines: Iterable[bytes]) -> Iterator[InputDocument | InputError]:
    source = str(path)
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(_decode(raw, source, lineno))
        except InputError as e:
            yield e
            continue
        except json.JSONDecodeError as e:
            yield InputError(f"{source}:{lineno}: malformed JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(obj, dict):
            yield InputError(f"{source}:{lineno}: expected an object {{\"id\": …, \"text\": …}}, got {type(obj).__name__}")
            continue
        if "text" not in obj:
            yield InputError(f"{source}:{lineno}: no \"text\" field")
            continue
        if not isinstance(obj["text"], str):
            yield InputError(f"{source}:{lineno}: \"text\" must be a string, got {type(obj['text']).__name__}")
            continue
        doc_id = obj.get("id", f"{source}:{lineno}")
        if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
            yield InputError(f"{source}:{lineno}: \"id\" must be a string or an integer, got {type(doc_id).__name__}")
            continue
        doc_id = str(doc_id)
        if "\n" in doc_id or "\r" in doc_id:
            yield InputError(f"{source}:{lineno}: \"id\" contains a line break")
            continue
        yield InputDocument(doc_id, obj["text"], source, lineno)


def txt_files(folder: Path) -> list[Path]:
    """The `.txt` files under `folder` (`.TXT` too), recursively, following links to folders (each
    real folder once, so a link loop ends), in sorted order."""
    files, seen = [], set()
    for root, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        files += [Path(root) / n for n in names if n.lower().endswith(".txt") and (Path(root) / n).is_file()]
    return sorted(files)


def _read_one(path_arg: str, stdin: bytes | None) -> Iterator[InputDocument | InputError]:
    if path_arg == "-":
        try:
            yield InputDocument("-", _decode(stdin if stdin is not None else stdin_bytes(), "-"), "-")
        except InputError as e:
            yield e
        return
    path = Path(path_arg)
    files = txt_files(path) if path.is_dir() else [path]
    for file in files:
        try:
            if file.suffix.lower() == ".jsonl" and not path.is_dir():
                yield from _read_jsonl(file, _jsonl_lines(file))
            else:
                yield InputDocument(str(file), _decode(_read_bytes(file), str(file)), str(file))
        except InputError as e:
            yield e


def read_inputs(
    paths: Iterable[str],
    on_error: Callable[[InputError], None] | None = None,
    stdin: bytes | None = None,
) -> Iterator[InputDocument]:
    """Documents of `.txt` files, folders (their `.txt` files, recursively, sorted), `.jsonl` files
    (`{"id": …, "text": …}` per line) and `-` (standard input, plain text: `stdin`'s bytes if given,
    else read from `sys.stdin`), in the order given.

    A bad input raises `InputError` (`FILE:LINE: …`), or is passed to `on_error` and skipped; a
    document whose id an earlier one has (the same file given twice, a repeated JSONL id) is bad.
    Text is decoded as UTF-8 and kept exactly (no newline translation, no normalisation).
    """
    seen: dict[str, str] = {}
    for path_arg in paths:
        for item in _read_one(path_arg, stdin):
            if isinstance(item, InputDocument):
                where = f"{item.source}:{item.line}" if item.line else item.source
                if item.id in seen:
                    item = InputError(
                        f"{where}: id {item.id!r} already used by {seen[item.id]}; ids must be unique "
                        "(output lines are matched to documents by id)"
                    )
                else:
                    seen[item.id] = where
            if isinstance(item, InputError):
                if on_error is None:
                    raise item
                on_error(item)
            else:
                yield item


# --------------------------------------------------------------------------------------------- tagging


def corpus_id(doc: InputDocument) -> str:
    r"""A document id that can name the corpus's files: a file's name without its folder and `.txt`, a
    JSONL id with `/`, `\` and white space made `-`; standard input is `stdin`."""
    if doc.source == "-":
        return "stdin"
    name = Path(doc.id).stem if doc.line == 0 else doc.id
    return re.sub(r"[\s/\\]+", "-", name).strip("-.") or "document"


def entities(text: str, sentences: Sequence[Sequence[Token]], tags: Sequence[Sequence[str]],
             scores: Sequence[Sequence[float]]) -> list[dict]:
    """Entities as `{"type", "start", "end", "text", "score"}`; offsets index `text`.

    `tags` must be well-formed IOB2 (the Tagger's are); the score is the mean of the syllables' scores.
    """
    out = []
    for tokens, sent_tags, sent_scores in zip(sentences, tags, scores):
        for span in bio_to_spans(sent_tags):
            start, end = tokens[span.start].start, tokens[span.end - 1].end
            mean = sum(sent_scores[span.start : span.end]) / (span.end - span.start)
            out.append({"type": span.label, "start": start, "end": end, "text": text[start:end],
                        "score": round(float(mean), 4)})
    return out


def iter_predictions(tagger, docs: Iterable[InputDocument], chunk_sentences: int = 4096,
                     progress: Callable[[int], None] | None = None) -> Iterator[Prediction]:
    """Predictions in document order. The sentences of many documents go to the tagger together
    (up to `chunk_sentences` at a time, more for one long document), so that it batches sentences of
    similar length; long sentences are windowed by the tagger, never truncated."""
    pending: list[tuple[InputDocument, list[list[Token]]]] = []
    count = 0

    def flush() -> Iterator[Prediction]:
        flat = [[t.text for t in tokens] for _, sentences in pending for tokens in sentences]
        tagged = iter(tagger.tag(flat))
        for doc, sentences in pending:
            outs = [next(tagged) for _ in sentences]
            tags = [t.tags for t in outs]
            scores = [t.scores for t in outs]
            yield Prediction(doc, sentences, tags, scores, entities(doc.text, sentences, tags, scores))
        if progress is not None:
            progress(len(pending))

    for doc in docs:
        sentences = read_sentences(doc.text)
        pending.append((doc, sentences))
        count += len(sentences)
        if count >= chunk_sentences:
            yield from flush()
            pending, count = [], 0
    if pending:
        yield from flush()


def predict_documents(tagger, docs: Iterable[InputDocument], chunk_sentences: int = 4096) -> list[Prediction]:
    return list(iter_predictions(tagger, docs, chunk_sentences))


# --------------------------------------------------------------------------------------------- writing


def format_jsonl(pred: Prediction) -> str:
    return json.dumps({"id": pred.document.id, "entities": pred.entities}, ensure_ascii=False) + "\n"


def format_conll_document(pred: Prediction) -> str:
    doc_id = corpus_id(pred.document)  # a file's name without folder and .txt, as the corpus names reports
    doc = pred.document
    sentences = [
        Sentence(
            doc_id=doc_id,
            sent_id=f"{doc_id}-{k:03d}",
            text=clean_text(doc.text[tokens[0].start : tokens[-1].end])[0],  # the tokens' own (NFC) form
            tokens=tuple(t.text for t in tokens),
            tags=tuple(tags),
        )
        for k, (tokens, tags) in enumerate(zip(pred.sentences, pred.tags), start=1)
    ]
    return format_conll(sentences)


def format_markup(pred: Prediction, single: bool) -> str:
    """The document with `[mention](TYPE)`; several documents each get a `# id = …` line before and
    one line break after (see `split_markup_output`)."""
    body = render_markup(pred.document.text, [CharSpan(e["start"], e["end"], e["type"]) for e in pred.entities])
    return body if single else f"{MARKUP_HEADER}{pred.document.id}\n{body}\n"


def split_markup_output(output: str) -> list[tuple[str, str]]:
    """(id, markup) of each document of a multi-document markup output; the inverse of `format_markup`."""
    parts = re.split(r"^# id = (.*)\n", output, flags=re.MULTILINE)
    if parts[0]:
        raise ValueError("markup output does not start with a '# id = …' line")
    return [(doc_id, body[:-1]) for doc_id, body in zip(parts[1::2], parts[2::2])]


def write_predictions(preds: Iterable[Prediction], fmt: str, out: IO[str], n_documents: int) -> None:
    for pred in preds:
        if fmt == "jsonl":
            out.write(format_jsonl(pred))
        elif fmt == "conll":
            out.write(format_conll_document(pred))
        elif fmt == "markup":
            out.write(format_markup(pred, single=n_documents == 1))
        else:
            raise ValueError(f"unknown format {fmt!r} ({', '.join(FORMATS)})")


# --------------------------------------------------------------------------------------------- several processes


def part_path(output: Path, index: int, count: int) -> Path:
    return output.parent / f".{output.name}.part-{index + 1}-of-{count}"


def join_parts(state, output: Path) -> None:
    """After every process wrote its part: the first one writes them, in process order, to `output`."""
    from .io_utils import atomic_open

    state.wait_for_everyone()
    if state.is_main_process:
        parts = [part_path(output, i, state.num_processes) for i in range(state.num_processes)]
        with atomic_open(output) as out:
            for part in parts:
                with open(part, encoding="utf-8", newline="") as f:
                    shutil.copyfileobj(f, out)
        for part in parts:
            part.unlink()
    state.wait_for_everyone()


def stdin_bytes() -> bytes:
    buffer = getattr(sys.stdin, "buffer", None)
    # bytes, so that `\r\n` stays as it is and offsets match the input; a test's StringIO has no buffer
    return buffer.read() if buffer is not None else sys.stdin.read().encode("utf-8")


def check_output_path(output: str, inputs: Sequence[str]) -> Path:
    """`--output` as a path that can be written without destroying an input; checked before any work.

    A symbolic link is followed (the file it names is written). A device or a FIFO is refused
    (writing by rename would replace it), and so is a folder where nothing can be created.
    """
    path = Path(output)
    if path.is_dir():
        raise InputError(f"--output {output}: is a folder; give a file name inside it")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(f"--output {output}: {parent} is a file, not a folder")
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        raise InputError(f"--output {output}: is not a regular file (a device or a FIFO); write to a file, or leave "
                         "out --output and redirect standard output")
    folder = next((p for p in target.parents if p.exists()), Path("/"))
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".antq-ner-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"--output {output}: cannot write in {folder}: {e.strerror or e}") from None
    if path.exists():
        resolved = path.resolve()
        for arg in inputs:
            if arg == "-":
                continue
            src = Path(arg)
            if src.exists() and (src.resolve() == resolved or (src.is_dir() and src.resolve() in resolved.parents and resolved.suffix == ".txt")):
                raise InputError(f"--output {output}: is also an input ({arg}); writing it would destroy it")
    return path
