"""Command-line entry points: argument parsing only; the work is in the library modules."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from .labels import ENTITY_TYPES

__all__ = ["evaluate_main", "main", "predict_main", "train_main"]

FALLBACKS_SHOWN = 3  # segmenter fallbacks printed one by one; the rest are counted (a corpus can have hundreds)


def _interruptible(entry):
    """Ctrl-C ends a command with one line and status 130, not a traceback; outputs are written by
    rename (`io_utils.atomic_open`), so whatever was there before stays whole."""

    @functools.wraps(entry)
    def run(argv: list[str] | None = None) -> int:
        try:
            return entry(argv)
        except KeyboardInterrupt:
            print("\ninterrupted; no output file was left half-written", file=sys.stderr)
            return 130

    return run


def _corpus(args: argparse.Namespace) -> int:
    from .corpus import (
        CorpusError,
        build_corpus,
        corpus_statistics,
        format_statistics,
        load_documents,
        load_sentences,
        topic_statistics,
    )
    from .validate import validate_corpus

    annotations = Path(args.annotations)
    types = tuple(t.strip() for t in args.labels.split(",") if t.strip())
    if args.action == "build":
        try:
            corpus = build_corpus(annotations, types)
        except CorpusError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"wrote {len(corpus)} files to {annotations / 'bio'}")
        return 0
    if args.action == "validate":
        bio_dir = Path(args.bio_dir) if args.bio_dir else annotations / "bio"
        problems = validate_corpus(bio_dir, args.raw_dir, args.documents, types)
        for p in problems:
            print(p, file=sys.stderr)
        print(f"{len(problems)} problem(s) in {bio_dir}" if problems else f"{bio_dir}: valid")
        return 1 if problems else 0
    docs = load_documents(annotations / "documents.yaml")
    stats = corpus_statistics({d.id: load_sentences(annotations / "bio", [d.id]) for d in docs}, types)
    if any(d.synthetic for d in docs):  # the team's reports: one row per topic
        print(format_statistics(topic_statistics(stats, docs), key="topic"))
    else:
        print(format_statistics(stats))
    return 0


def _backbone(args: argparse.Namespace) -> int:
    from .backbone import BackboneError, convert_backbone

    try:
        out = convert_backbone(args.name, args.out, trim=not args.full_vocabulary)
    except BackboneError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {out} (load it with AutoModel/AutoTokenizer.from_pretrained, or set model.name_or_path to it)")
    return 0


def _load_scored(args: argparse.Namespace):
    """The inputs read and checked (before the model loads), then tagged and scored; (tagger, scored)."""
    from .annotate import score_documents
    from .documents import InputError, read_inputs
    from .inference import Tagger

    docs = list(read_inputs(args.inputs))  # InputError: a bad input, before the model loads
    if not docs:
        raise InputError(f"no document in {' '.join(args.inputs)} (no .txt file, no JSONL line)")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars: stderr is for our messages
    try:
        tagger = Tagger.from_pretrained(args.model, batch_size=args.batch_size, precision=args.precision)
    except (OSError, ValueError) as e:
        raise InputError(f"{args.model}: cannot load the model: {e}") from None
    return tagger, score_documents(tagger, docs, per_sentence=args.per_sentence)


def _fail(message: str, status: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def _annotate(args: argparse.Namespace) -> int:
    if args.action == "import":
        if len(args.inputs) != 1:
            return _fail(f"import takes one export file, got {len(args.inputs)}", 2)
        return _annotate_import(args)
    if not args.model:
        return _fail(f"{args.action} needs --model DIR", 2)
    from .annotate import least_certain_first, write_tasks
    from .checkpoint import checkpoint_version
    from .documents import InputError, check_output_path
    from .io_utils import atomic_open
    from .labels import entity_types

    if args.top is not None and args.top < 1:
        return _fail("--top must be at least 1", 2)
    try:
        output = check_output_path(args.output, args.inputs) if args.output else None
    except InputError as e:
        return _fail(str(e), 2)
    if args.action == "export" and output is None:
        return _fail("export needs -o FILE (tasks to import into the tool)", 2)
    try:
        tagger, scored = _load_scored(args)
    except InputError as e:
        return _fail(str(e))
    ranked = least_certain_first(scored, args.top)
    if args.action == "export":
        if args.top is not None:
            scored = ranked
        written = write_tasks(scored, args.format, output, checkpoint_version(args.model), entity_types(tagger.labels))
        print(f"wrote {len(scored)} task(s) to {written[0]}"
              + (f" and the labelling config to {written[1]} (Label Studio: Settings › Labeling Interface › Code)"
                 if len(written) > 1 else ""))
        return 0
    lines = ["confidence\tid\tsyllables\tentities\tstart of text"] + [
        f"{d.confidence:.4f}\t{d.id}\t{d.syllables}\t{len(d.entities)}\t{' '.join(d.text.split())[:60]}" for d in ranked
    ]
    if output is None:
        print("\n".join(lines))
    else:
        with atomic_open(output) as f:
            f.write("\n".join(lines) + "\n")
    return 0


def _annotate_import(args: argparse.Namespace) -> int:
    from .annotation_tools import ExportError, read_export
    from .corpus_import import ImportRefused, import_tasks

    if args.model:  # the checkpoint's label set, as export wrote it into the labelling config
        from .checkpoint import read_run_config

        try:
            types = read_run_config(args.model).data.labels
        except (OSError, ValueError) as e:
            return _fail(f"{args.model}: {e}")
    else:
        types = tuple(t.strip() for t in args.labels.split(",") if t.strip())
    try:
        tasks, notes = read_export(Path(args.inputs[0]))
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        result = import_tasks(tasks, Path(args.annotations), types, replace=args.replace)
    except ExportError as e:
        return _fail(f"{e}; nothing was written to {args.annotations}")
    except ImportRefused as e:
        for problem in e.problems:
            print(f"error: {problem}", file=sys.stderr)
        return _fail(f"{args.inputs[0]}: {len(e.problems)} problem(s); nothing was written to {args.annotations}")
    except (OSError, UnicodeDecodeError) as e:  # a read-only or full corpus folder, an unreadable file in it
        return _fail(f"{args.annotations}: {e}; each file written so far was written whole, documents.yaml last")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    print(f"imported {len(result.written)} document(s) into {args.annotations} ({', '.join(result.written) or 'none'})"
          + (f"; {len(result.unchanged)} already there unchanged" if result.unchanged else "")
          + (f"; the corpus has {len(result.problems)} problem(s)" if result.problems else "; built and valid"))
    return 1 if result.problems else 0


def _export(args: argparse.Namespace) -> int:
    from .int8 import export_int8

    if not (Path(args.model) / "model.safetensors").is_file():
        return _fail(f"{args.model}: no model.safetensors; pass a checkpoint folder written by train.py")
    try:
        target = export_int8(Path(args.model))
    except (OSError, ValueError) as e:
        return _fail(f"{args.model}: {e}")
    print(f"wrote {target}/ (model.onnx, model_quantized.onnx, export.json); --precision int8 loads it from now on")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .serve import serve

    if args.max_request_bytes < 1:
        return _fail("--max-request-bytes must be at least 1", 2)
    try:
        serve(args.model, args.host, args.port, args.precision, args.max_request_bytes)
    except (OSError, ValueError) as e:
        return _fail(f"{args.model}: {e}")
    return 0


@_interruptible
def main(argv: list[str] | None = None) -> int:
    from .annotation_tools import TOOL_FORMATS
    from .inference import PRECISIONS
    from .serve import DEFAULT_MAX_REQUEST_BYTES

    parser = argparse.ArgumentParser(prog="antq-ner", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    corpus = sub.add_parser("corpus", help="build BIO files from the markup, validate them, print statistics")
    corpus.add_argument("action", choices=["build", "validate", "stats"])
    corpus.add_argument("--annotations", default="annotations", help="folder with raw/, markup/, bio/, documents.yaml")
    corpus.add_argument("--bio-dir", help="validate: folder of .conll files (default: ANNOTATIONS/bio)")
    corpus.add_argument("--raw-dir", help="validate: folder of raw reports (default: BIO_DIR/../raw)")
    corpus.add_argument("--documents", help="validate: documents.yaml (default: BIO_DIR/../documents.yaml)")
    corpus.add_argument("--labels", default=",".join(ENTITY_TYPES),
                        help=f"comma-separated entity types, as a config's data.labels (default: {','.join(ENTITY_TYPES)})")
    corpus.set_defaults(run=_corpus)
    backbone = sub.add_parser(
        "backbone", help="convert a package's bundled pre-trained weights into a Hugging Face folder"
    )
    backbone.add_argument("name", help="bundled backbone, e.g. multilingual-e5-small")
    backbone.add_argument("--out", help="folder to write (default: the cache, ~/.cache/antq-ner/backbones/NAME, "
                          "or $ANTQ_NER_CACHE/backbones/NAME)")
    backbone.add_argument("--full-vocabulary", action="store_true",
                          help="keep all 250k pieces instead of those Vietnamese text can use")
    backbone.set_defaults(run=_backbone)
    annotate = sub.add_parser(
        "annotate", help="the annotation loop: tasks for Label Studio or doccano, their exports back into the corpus",
        description="export: pre-annotated tasks (one per document, or per sentence) for Label Studio (JSON and "
        "its labelling config) or doccano (JSONL), each scored by the model's confidence (exp of MNLP: low = "
        "uncertain). rank: the inputs least certain first. import: a Label Studio JSON / JSON_MIN export or a "
        "doccano JSONL file into a corpus folder (raw/, markup/, documents.yaml), then built and validated. "
        "docs/growing-the-corpus.md walks through the loop.",
    )
    annotate.add_argument("action", choices=["export", "rank", "import"])
    annotate.add_argument("inputs", nargs="+", metavar="INPUT",
                          help="export/rank: .txt files, folders, .jsonl files or - as predict.py takes them; "
                          "import: the tool's export file")
    annotate.add_argument("--model", metavar="DIR", help="export/rank: a checkpoint folder written by train.py; "
                          "import: take the label set from it (instead of --labels)")
    annotate.add_argument("-o", "--output", metavar="FILE",
                          help="export: the tasks file (Label Studio: FILE.label_config.xml is written beside it); "
                          "rank: write the table here instead of standard output")
    annotate.add_argument("--format", choices=TOOL_FORMATS, default="label-studio", help="export: the tool (default: label-studio)")
    annotate.add_argument("--per-sentence", action="store_true", help="export/rank: one task per sentence, id <doc>-sNNN")
    annotate.add_argument("--top", type=int, metavar="K", help="export/rank: only the K least certain")
    annotate.add_argument("--precision", choices=PRECISIONS, default="fp32", help="export/rank: as predict.py --precision")
    annotate.add_argument("--batch-size", type=int, default=32, metavar="N", help="export/rank: model inputs per batch")
    annotate.add_argument("--annotations", default="annotations",
                          help="import: the corpus folder to write into (default: annotations)")
    annotate.add_argument("--labels", default=",".join(ENTITY_TYPES),
                          help=f"import: the entity types a region may have (default: {','.join(ENTITY_TYPES)})")
    annotate.add_argument("--replace", action="store_true",
                          help="import: overwrite a document already in the corpus with other text or mentions")
    annotate.set_defaults(run=_annotate)
    serve = sub.add_parser("serve", help="serve a checkpoint over HTTP: a Label Studio ML backend and POST /entities")
    serve.add_argument("--model", required=True, metavar="DIR", help="a checkpoint folder written by train.py")
    serve.add_argument("--precision", choices=PRECISIONS, default="fp32", help="as predict.py --precision (default: fp32)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--port", type=int, default=9090, help="port (default: 9090, Label Studio's usual backend port)")
    serve.add_argument("--max-request-bytes", type=int, default=DEFAULT_MAX_REQUEST_BYTES, metavar="N",
                       help=f"larger request bodies get 413 (default: {DEFAULT_MAX_REQUEST_BYTES})")
    serve.set_defaults(run=_serve)
    export = sub.add_parser("export", help="make a checkpoint's int8 model once (ONNX Runtime), into CKPT/onnx/")
    export.add_argument("model", metavar="CKPT", help="a checkpoint folder written by train.py")
    export.add_argument("--precision", choices=["int8"], required=True,
                        help="int8: onnx/model.onnx and the quantised onnx/model_quantized.onnx, which "
                        "predict.py, evaluate.py, annotate and serve --precision int8 then load in a second or two")
    export.set_defaults(run=_export)
    commands = {"train": train_main, "evaluate": evaluate_main, "predict": predict_main}
    for name in commands:
        sub.add_parser(name, help=f"same as {name}.py (see antq-ner {name} --help)", add_help=False)
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in commands:  # their own parsers take every option that follows
        return commands[argv[0]](argv[1:])
    args = parser.parse_args(argv)
    return args.run(args)


@_interruptible
def train_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="train.py", description="Fine-tune a token classifier from a YAML config.")
    parser.add_argument("--config", required=True, help="YAML file, e.g. configs/offline.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set training.epochs=3 (repeatable)")
    parser.add_argument("--resume", action="store_true", help="continue an unfinished run from its last epoch")
    parser.add_argument("--keep-checkpoints", action="store_true",
                        help="keep the Trainer's resume state (checkpoints/, about 3x the model) after the run "
                        "completes; by default it is removed then")
    args = parser.parse_args(argv)
    from .config import ConfigError, load_config
    from .training import train

    try:
        cfg = load_config(args.config, args.set)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        train(cfg, resume=args.resume, keep_checkpoints=args.keep_checkpoints)
    except (ConfigError, FileNotFoundError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


@_interruptible
def evaluate_main(argv: list[str] | None = None) -> int:
    from .inference import PRECISIONS

    parser = argparse.ArgumentParser(
        prog="evaluate.py",
        description="Score a checkpoint on its held-out articles (with baselines, errors, plots), "
        "or cross-validate a config over the fold-* splits.",
    )
    parser.add_argument("--model", help="checkpoint folder written by train.py, e.g. models/offline")
    parser.add_argument("--split", choices=["test", "dev"], help="--model: held-out part to score (default: test)")
    parser.add_argument("--cv", action="store_true", help="cross-validate --config over the fold-* splits")
    parser.add_argument("--config", help="--cv: YAML config, e.g. configs/offline.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="--cv: override a config value (repeatable)")
    parser.add_argument("--folds", help="--cv: comma-separated subset of folds, e.g. fold-ct07,fold-bac-lieu")
    parser.add_argument("--no-baselines", action="store_true", help="skip the CRF and underthesea baselines")
    parser.add_argument("--examples", type=int, default=5, metavar="N", help="error examples per kind in report.md")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="--model: score the checkpoint as predict.py --precision runs it (eval/<split>-<precision>/)")
    parser.add_argument("--allow-seen", action="store_true",
                        help="score held-out sentences that are also training sentences (e.g. a repeated photo "
                        "credit) instead of refusing; they are listed in metrics.json")
    args = parser.parse_args(argv)
    if args.cv == bool(args.model):
        parser.error("give either --model DIR or --cv --config FILE")
    if args.cv and not args.config:
        parser.error("--cv needs --config")
    if not args.cv and (args.config or args.set or args.folds):
        parser.error("--config, --set and --folds go with --cv")
    if args.cv and args.precision != "fp32":
        parser.error("--precision goes with --model")
    if args.cv and args.split:
        parser.error("--split goes with --model (--cv scores each fold's test article)")
    folds = None
    if args.folds is not None:
        folds = [f.strip() for f in args.folds.split(",") if f.strip()]
        if not folds:
            parser.error(f"--folds {args.folds!r} names no fold; give e.g. fold-ct07,fold-bac-lieu, or leave it out for all")
    from .config import ConfigError
    from .evaluation import cross_validate, evaluate_run
    from .report import FILES, format_table

    try:
        if args.cv:
            result = cross_validate(args.config, args.set, folds, not args.no_baselines, args.examples,
                                    allow_seen=args.allow_seen)
        else:
            result = evaluate_run(args.model, args.split or "test", not args.no_baselines, args.examples,
                                  allow_seen=args.allow_seen, precision=args.precision)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(format_table(result.metrics))
    for name, reason in result.metrics.get("baselines_skipped", {}).items():
        print(f"skipped {name}: {reason}")
    print(f"wrote {result.out_dir}/ ({', '.join(FILES)})")
    return 0


_PREDICT_EPILOG = """\
inputs:
  FILE.txt (or any file not ending in .jsonl)  one document, id = the path as given
  DIR                                         its .txt files (.TXT too), recursively, following
                                              links to folders, in sorted order
  FILE.jsonl                                  one document per line: {"id": ..., "text": ...}
                                              (id defaults to FILE:LINE)
  -                                           standard input, plain text, id "-"
  Text is read as UTF-8 and kept as it is: offsets index the text as read. The model reads a
  cleaned copy: NFC, zero-width spaces as spaces, soft hyphens, zero-width joiners and byte-order
  marks dropped, so NFD or NBSP text gives the entities of the plain text. Ids must be unique.

formats:
  jsonl   (default) one line per document:
          {"id": ..., "entities": [{"type", "start", "end", "text", "score"}, ...]}
          start/end: Python string (code point) offsets into the input text, end exclusive,
          text == input[start:end]; score: mean probability over the entity's syllables.
  conll   the corpus format (# doc_id, # sent_id = <id>-NNN, # text, token<TAB>tag, blank
          line), usable as pre-annotation. A document without text gives no sentences.
  markup  the text with each mention written [mention](TYPE), a literal [ ] or \\ of the text
          escaped as \\[ \\] \\\\. For ONE input document, exactly that (drop it into
          annotations/markup/). For several, each document is preceded by a
          line "# id = <id>" and followed by one added line break: split before each line
          starting with "# id = " and drop the last character of each part
          (antq_ner.documents.split_markup_output does this; a text with its own line starting
          "# id = " cannot be split back: give such a document alone).

Long documents are split into sentences and long sentences into overlapping windows; nothing
is truncated. A bad input (unreadable file, invalid UTF-8, malformed JSONL line, missing or
non-string "text", an id already used) is reported as FILE:LINE: ... and exits 1 before anything
is written (an existing --output file is left untouched); with --skip-errors each bad document is
reported on stderr and the others are written (exit 0; exit 1 when no document is left). An
--output that is an input, a folder or under a file is refused (exit 2) before the model loads.
A progress bar goes to stderr when it is a terminal and there are more than 5 documents.
"""


def predict_parser() -> argparse.ArgumentParser:
    from .documents import FORMATS
    from .inference import PRECISIONS

    p = argparse.ArgumentParser(
        prog="predict.py", description="Tag named entities in raw text: the entity types the checkpoint "
        "learnt (its config.json's id2label; PERSON, RANK, ORG, PROGRAM, QUANTITY for this project's models).",
        epilog=_PREDICT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, metavar="DIR", help="a checkpoint folder written by train.py")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=".txt file, folder, .jsonl file or - (see below)")
    p.add_argument("--output", "-o", metavar="FILE", help="write here (atomically) instead of standard output")
    p.add_argument("--format", choices=FORMATS, default="jsonl", help="output format (default: jsonl)")
    p.add_argument("--batch-size", type=int, default=32, metavar="N", help="model inputs per batch (default: 32)")
    p.add_argument("--threads", type=int, metavar="N", help="torch CPU threads (default: torch's own choice)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="fp32 (default); bf16 (fast where the CPU/GPU computes it natively); int8 (CPU: the "
                   "model on ONNX Runtime with int8 linear layers, loaded from CKPT/onnx/ made once by `antq-ner "
                   "export --precision int8 CKPT`, else made at load, some seconds; needs the int8 extra). "
                   "docs/inference.md: speed and agreement")
    p.add_argument("--skip-errors", action="store_true", help="report bad documents on stderr and go on")
    return p


@_interruptible
def predict_main(argv: list[str] | None = None) -> int:
    parser = predict_parser()
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    return _run_prediction(args)


def _run_prediction(args: argparse.Namespace) -> int:
    """predict.py's run over the library's reading, tagging and writing; returns the exit status."""
    import itertools
    import os

    from .documents import (
        PROGRESS_MIN_DOCUMENTS,
        InputError,
        check_output_path,
        iter_predictions,
        join_parts,
        part_path,
        read_inputs,
        stdin_bytes,
        write_predictions,
    )
    from .segment import segmenter_fallbacks

    try:
        output = check_output_path(args.output, args.inputs) if args.output else None
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    errors: list[InputError] = []
    # Under torchrun / accelerate launch every process runs the first pass; one reports (RANK is set
    # by both launchers, before torch and accelerate are imported).
    say = print if os.environ.get("RANK", "0") == "0" else (lambda *a, **k: None)

    def report(e: InputError) -> None:
        errors.append(e)
        say(f"error: {e} (skipped)", file=sys.stderr)

    # Two passes over the inputs: the first reads and checks every document and keeps only the count,
    # so that a bad input fails before the model loads and before anything is written; the second
    # reads them again as they are tagged, so that a news archive never has to fit in memory.
    stdin_data = stdin_bytes() if "-" in args.inputs else None  # standard input can be read once only

    def documents(on_error):
        return read_inputs(args.inputs, on_error=on_error, stdin=stdin_data)

    try:
        n_documents = sum(1 for _ in documents(report if args.skip_errors else None))
    except InputError as e:
        say(f"error: {e}", file=sys.stderr)
        return 1
    if errors:
        say(f"skipped {len(errors)} bad document(s)", file=sys.stderr)
    if not n_documents:
        say("error: no document to tag (" + ("every input was bad" if errors else "no .txt file, no JSONL line")
              + f" in {' '.join(args.inputs)}); nothing written", file=sys.stderr)
        return 1

    import torch
    from accelerate import PartialState

    from .inference import Tagger

    # Started by several processes (torchrun, accelerate launch), each tags its own contiguous share
    # of the documents into a part file; the first process joins the parts, in input order.
    state = PartialState(cpu=not torch.cuda.is_available())
    if state.num_processes > 1 and output is None:
        if state.is_main_process:
            print("error: several processes need --output FILE (their parts are joined into it)", file=sys.stderr)
        return 2
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars: stderr is for our messages and progress
    try:
        tagger = Tagger.from_pretrained(args.model, batch_size=args.batch_size, precision=args.precision,
                                        device=state.device)
    except (OSError, ValueError) as e:
        print(f"error: {args.model}: cannot load the model: {e}", file=sys.stderr)
        return 1
    with state.split_between_processes(list(range(n_documents))) as mine:
        first, stop = (mine[0], mine[-1] + 1) if mine else (0, 0)

    from tqdm.auto import tqdm

    show_bar = n_documents > PROGRESS_MIN_DOCUMENTS and sys.stderr.isatty() and state.is_main_process

    def warn(message: str) -> None:  # the first few; the count at the end
        if len(fallbacks) <= FALLBACKS_SHOWN:
            print(f"warning: {message}", file=sys.stderr)

    with segmenter_fallbacks(warn) as fallbacks, \
            tqdm(total=stop - first, unit="doc", file=sys.stderr, disable=not show_bar) as bar:
        # the second pass: every bad document was reported by the first one
        mine = itertools.islice(documents(lambda e: None), first, stop)
        preds = iter_predictions(tagger, mine, progress=bar.update)
        if output is not None:
            from .io_utils import atomic_open

            target = output if state.num_processes == 1 else part_path(output, state.process_index, state.num_processes)
            try:
                with atomic_open(target) as out:  # a failure part-way leaves an existing file as it was
                    write_predictions(preds, args.format, out, n_documents)
            except OSError as e:  # a full disk, a folder made read-only since the check
                print(f"error: cannot write {output}: {e.strerror or e}; nothing was written (a file that was "
                      "there is left as it was)", file=sys.stderr)
                return 1
            if state.num_processes > 1:
                join_parts(state, output)
        else:
            out = sys.stdout
            if (getattr(out, "encoding", None) or "").lower().replace("-", "") != "utf8" and hasattr(out, "reconfigure"):
                out.reconfigure(encoding="utf-8")  # the text is Vietnamese, whatever the locale
            try:
                write_predictions(preds, args.format, out, n_documents)
                out.flush()
            except BrokenPipeError:  # `predict.py … | head`: the reader has all it wants
                os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())  # no second error at exit
                return 0
            except OSError as e:  # standard output on a full device
                os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
                print(f"error: cannot write to standard output: {e.strerror or e}", file=sys.stderr)
                return 1
    if fallbacks:
        print(f"warning: {len(fallbacks)} sentence(s) read one word per syllable (segmenter fallback)"
              + (f"; the first {FALLBACKS_SHOWN} are above" if len(fallbacks) > FALLBACKS_SHOWN else ""), file=sys.stderr)
    return 0
