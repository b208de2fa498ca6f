"""Held-out evaluation: scores, baselines, error analysis, plots, and cross-validation.

Everything is scored at syllable level against the gold BIO files, so word-segmentation errors
count against the model. The headline is seqeval's strict IOB2 mode (an entity counts only when
its B- and every I- tag match); seqeval's default conlleval-style mode, which also accepts an
entity that starts with I-, is reported beside it and labelled as such.

`python evaluate.py --model models/<run> [--split test|dev] [--no-baselines]` writes
`models/<run>/eval/<split>/` (metrics.json, predictions.conll, report.md, per_type_f1.png,
confusion.png); `python evaluate.py --cv --config configs/NAME.yaml [--folds a,b]` trains one
model per fold and writes the pooled results to `<output_dir>/<run_name>-cv/`.

Error kinds (`classify_errors`), over gold spans and repaired predicted spans of one sentence:

- exact: same span, same type;
- wrong_type: same span, other type;
- wrong_boundary: overlapping (not identical) span, same type;
- wrong_boundary_type: overlapping (not identical) span, other type (its own kind, not folded);
- missed: a gold entity that no prediction overlaps;
- spurious: a prediction that overlaps no gold entity.

Pairs are matched one to one (identical spans first, then largest overlap); a gold entity split
into several predictions (or several gold entities merged into one prediction) pairs the leftover
pieces with the entity they overlap most, as boundary errors. So every gold and every predicted
entity appears in at least one case, and the exact + wrong_type + wrong_boundary(_type) + missed
cases number at least the gold entities.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import shutil
import statistics
import sys
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .bio import Sentence, Span, bio_to_spans, format_conll, repair_tags
from .checkpoint import read_run_config, recorded_split
from .config import Config, ConfigError, check_paths, list_folds, load_config
from .io_utils import atomic_open, atomic_write_json, atomic_write_text
from .provenance import provenance
from .scoring import seqeval_scores
from .segment import SegmenterFallbackWarning

__all__ = [
    "ERROR_DESCRIPTIONS",
    "ERROR_KINDS",
    "MODEL_NAME",
    "ErrorCase",
    "EvalResult",
    "SystemPredictions",
    "classify_errors",
    "confusion_counts",
    "cross_validate",
    "error_counts",
    "evaluate_run",
    "evaluation_metrics",
    "format_table",
    "main",
    "plot_confusion",
    "plot_per_type_f1",
    "render_report",
    "restrict_tags",
    "run_baselines",
    "score_block",
    "write_evaluation",
]

MODEL_NAME = "model"
ENCODER_NAME = "encoder alone (the checkpoint without its CRF)"
ERROR_KINDS = ("exact", "wrong_type", "wrong_boundary", "wrong_boundary_type", "missed", "spurious")
ERROR_DESCRIPTIONS = {
    "exact": "same span, same type (correct)",
    "wrong_type": "same span, other type",
    "wrong_boundary": "overlapping span, same type",
    "wrong_boundary_type": "overlapping span, other type",
    "missed": "gold entity with no overlapping prediction",
    "spurious": "prediction with no overlapping gold entity",
}
NONE_GOLD = "none (spurious)"
NONE_PRED = "none (missed)"
FILES = ("metrics.json", "predictions.conll", "report.md", "per_type_f1.png", "confusion.png")


# ----------------------------------------------------------------------------------------------
# Error cases


@dataclass(frozen=True)
class ErrorCase:
    kind: str  # one of ERROR_KINDS
    gold_span: Span | None  # None for spurious
    pred_span: Span | None  # None for missed


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def _pair_kind(gold: Span, pred: Span) -> str:
    same_type = gold.label == pred.label
    if (gold.start, gold.end) == (pred.start, pred.end):
        return "exact" if same_type else "wrong_type"
    return "wrong_boundary" if same_type else "wrong_boundary_type"


def classify_errors(gold_tags: Sequence[str], pred_tags: Sequence[str]) -> list[ErrorCase]:
    """The error cases of one sentence, ordered by position (see the module docstring for the kinds).

    Gold tags must be well-formed IOB2 (`BioError` otherwise); predicted tags are read as conlleval
    reads them (`repair_tags`: an I-X that cannot continue an entity starts one).
    """
    if len(gold_tags) != len(pred_tags):
        raise ValueError(f"gold and predicted tags differ in length ({len(gold_tags)} vs {len(pred_tags)})")
    gold = bio_to_spans(gold_tags)
    pred = bio_to_spans(repair_tags(pred_tags))
    cases: list[ErrorCase] = []
    gold_done: set[int] = set()
    pred_done: set[int] = set()
    # 1. identical spans (spans of one sequence never overlap, so at most one match each)
    by_bounds = {(p.start, p.end): j for j, p in enumerate(pred)}
    for i, g in enumerate(gold):
        j = by_bounds.get((g.start, g.end))
        if j is not None:
            cases.append(ErrorCase(_pair_kind(g, pred[j]), g, pred[j]))
            gold_done.add(i)
            pred_done.add(j)
    # 2. one-to-one pairs of the rest, largest overlap first (then same type, then position)
    candidates = sorted(
        (
            (-_overlap(g, p), g.label != p.label, g.start, p.start, i, j)
            for i, g in enumerate(gold)
            if i not in gold_done
            for j, p in enumerate(pred)
            if j not in pred_done and _overlap(g, p) > 0
        )
    )
    for *_, i, j in candidates:
        if i in gold_done or j in pred_done:
            continue
        cases.append(ErrorCase(_pair_kind(gold[i], pred[j]), gold[i], pred[j]))
        gold_done.add(i)
        pred_done.add(j)

    def most_overlapping(span: Span, others: list[Span]) -> Span | None:
        best = max(others, key=lambda o: (_overlap(span, o), o.label == span.label, -o.start), default=None)
        return best if best is not None and _overlap(span, best) > 0 else None

    # 3. leftovers: pieces of a split or merged entity, or entities nothing overlaps
    for i, g in enumerate(gold):
        if i not in gold_done:
            p = most_overlapping(g, pred)
            cases.append(ErrorCase("missed", g, None) if p is None else ErrorCase(_pair_kind(g, p), g, p))
    for j, p in enumerate(pred):
        if j not in pred_done:
            g = most_overlapping(p, gold)
            cases.append(ErrorCase("spurious", None, p) if g is None else ErrorCase(_pair_kind(g, p), g, p))

    def position(case: ErrorCase) -> tuple[int, int]:
        spans = [s for s in (case.gold_span, case.pred_span) if s is not None]
        return min(s.start for s in spans), min(s.end for s in spans)

    return sorted(cases, key=position)


def error_counts(cases: Sequence[ErrorCase]) -> dict[str, int]:
    counts = Counter(c.kind for c in cases)
    return {kind: counts.get(kind, 0) for kind in ERROR_KINDS}


def confusion_counts(cases: Sequence[ErrorCase], types: Sequence[str]) -> dict:
    """Type confusion over matched spans: rows gold types + spurious, columns predicted types + missed."""
    rows = [*types, NONE_GOLD]
    columns = [*types, NONE_PRED]
    counts = [[0] * len(columns) for _ in rows]
    for case in cases:
        r = rows.index(case.gold_span.label) if case.gold_span is not None else len(rows) - 1
        c = columns.index(case.pred_span.label) if case.pred_span is not None else len(columns) - 1
        counts[r][c] += 1
    return {"rows": rows, "columns": columns, "counts": counts}


# ----------------------------------------------------------------------------------------------
# Scores


def score_block(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """{'strict': {overall, macro, per_type}, 'conlleval': {...same}} (seqeval, syllable level).

    `overall` is the micro average; `macro` averages over the types present in gold or predictions.
    """
    return {"strict": seqeval_scores(gold, pred, strict=True), "conlleval": seqeval_scores(gold, pred, strict=False)}


def restrict_tags(tags: Sequence[str], types: Sequence[str]) -> list[str]:
    """A copy where the tags of every type outside `types` become O."""
    keep = set(types)
    return [t if t == "O" or t[2:] in keep else "O" for t in tags]


@dataclass(frozen=True)
class SystemPredictions:
    """A baseline's syllable tags for the evaluated sentences; `types` None means all types are scored."""

    tags: list[list[str]]
    types: tuple[str, ...] | None = None


def _system_metrics(sentences: Sequence[Sentence], pred: Sequence[Sequence[str]], types: Sequence[str] | None) -> dict:
    gold = [list(s.tags) for s in sentences]
    if types is not None:
        gold = [restrict_tags(g, types) for g in gold]
        pred = [restrict_tags(p, types) for p in pred]
    block = score_block(gold, pred)
    by_doc: dict[str, list[int]] = {}
    for i, s in enumerate(sentences):
        by_doc.setdefault(s.doc_id, []).append(i)
    for mode in ("strict", "conlleval"):
        block[mode]["per_article"] = {
            doc: seqeval_scores([gold[i] for i in idx], [pred[i] for i in idx], strict=mode == "strict")["overall"]
            for doc, idx in by_doc.items()
        }
    cases = [c for g, p in zip(gold, pred) for c in classify_errors(g, p)]
    block["errors"] = error_counts(cases)
    return block


def evaluation_metrics(
    sentences: Sequence[Sentence],
    pred: Sequence[Sequence[str]],
    baselines: Mapping[str, SystemPredictions] = {},
    labels: Sequence[str] | None = None,
) -> dict:
    """metrics.json's scores for the model's `pred` and each baseline on the same sentences."""
    if len(sentences) != len(pred):
        raise ValueError(f"{len(sentences)} sentences but {len(pred)} predictions")
    model = _system_metrics(sentences, pred, None)
    labels = list(labels) if labels is not None else sorted(
        {s.label for sent in sentences for s in bio_to_spans(sent.tags)}
    )
    cases = [c for s, p in zip(sentences, pred) for c in classify_errors(s.tags, p)]
    out = {
        "strict": model["strict"],
        "conlleval": model["conlleval"],
        "baselines": {},
        "errors": model["errors"],
        "confusion": confusion_counts(cases, labels),
        "labels": labels,
        "articles": list(dict.fromkeys(s.doc_id for s in sentences)),
        "sentences": len(sentences),
        "gold_entities": sum(len(bio_to_spans(s.tags)) for s in sentences),
    }
    for name, system in baselines.items():
        block = _system_metrics(sentences, system.tags, system.types)
        block["types"] = list(system.types) if system.types is not None else list(labels)
        out["baselines"][name] = block
    return out


# ----------------------------------------------------------------------------------------------
# Files


def _f(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """A Markdown table; the first `left` columns are text (left-aligned), the others numbers."""
    align = "|".join("---" if i < left else "---:" for i in range(len(header)))
    out = ["| " + " | ".join(header) + " |", f"|{align}|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return out


def _systems(metrics: dict) -> list[tuple[str, dict, list[str] | None]]:
    """(name, block, scored types or None for all) for the model and each baseline."""
    return [(MODEL_NAME, metrics, None)] + [(n, b, b.get("types")) for n, b in metrics.get("baselines", {}).items()]


def _types_label(types: list[str] | None, labels: list[str]) -> str:
    return "all" if types is None or list(types) == list(labels) else ", ".join(types)


def _mark(tokens: Sequence[str], span: Span | None, lo: int, hi: int) -> str:
    words = []
    for i in range(lo, hi):
        tok = tokens[i]
        if span is not None and i == span.start:
            tok = "[" + tok
        if span is not None and i == span.end - 1:
            tok = tok + f"]({span.label})"
        words.append(tok)
    return ("… " if lo > 0 else "") + " ".join(words) + (" …" if hi < len(tokens) else "")


def _example(sentence: Sentence, case: ErrorCase, context: int = 8) -> list[str]:
    spans = [s for s in (case.gold_span, case.pred_span) if s is not None]
    lo = max(0, min(s.start for s in spans) - context)
    hi = min(len(sentence.tokens), max(s.end for s in spans) + context)
    describe = ", ".join(
        f"{who} {s.label} {s.start}–{s.end}" for who, s in (("gold", case.gold_span), ("predicted", case.pred_span)) if s
    )
    return [
        f"- `{sentence.sent_id}` ({describe})",
        "",
        "  ```text",
        f"  gold: {_mark(sentence.tokens, case.gold_span, lo, hi)}",
        f"  pred: {_mark(sentence.tokens, case.pred_span, lo, hi)}",
        "  ```",
    ]


def render_report(
    metrics: dict, sentences: Sequence[Sentence], pred: Sequence[Sequence[str]], examples: int = 5, title: str = ""
) -> str:
    """report.md: scores, per-type and per-article tables, errors with examples, the plots."""
    labels = metrics.get("labels") or []
    systems = _systems(metrics)
    lines = [f"# {title or 'Evaluation'}", ""]
    if metrics.get("model"):
        if isinstance(metrics["model"], list):
            lines += ["Models (one per fold): " + ", ".join(f"`{m}`" for m in metrics["model"]) + ".", ""]
        else:
            lines += [(f"Model: `{metrics['model']}`; held-out part: `{metrics.get('split', '')}` of split "
                      f"`{metrics.get('data_split', '')}`."), ""]
    lines += [
        (
            f"held-out articles: {', '.join(metrics.get('articles', []))} "
            f"({metrics.get('sentences', len(sentences))} sentences, {metrics.get('gold_entities', 0)} gold entities)."
        ),
        "",
        (
            "Syllable level against the gold BIO (segmentation errors count against the model). **Strict** is "
            "seqeval `mode=\"strict\", scheme=IOB2` (the headline); **conlleval** is seqeval's default mode, "
            "which also counts a predicted entity that starts with `I-`. Overall scores are micro averages; "
            "macro averages over the types present. A baseline scored on fewer types is scored on those types "
            "only (other types removed from gold and predictions)."
        ),
        "",
    ]
    if metrics.get("cv"):
        lines += _cv_section(metrics)
    lines += ["## Scores", ""]
    rows = []
    for name, block, types in systems:
        s, c = block["strict"], block["conlleval"]
        rows.append([
            name, _types_label(types, labels),
            _f(s["overall"]["precision"]), _f(s["overall"]["recall"]), _f(s["overall"]["f1"]), _f(s["macro"]["f1"]),
            _f(c["overall"]["precision"]), _f(c["overall"]["recall"]), _f(c["overall"]["f1"]),
        ])
    lines += _md_table(
        ["system", "types", "strict P", "strict R", "strict F1", "strict macro F1", "conlleval P", "conlleval R",
         "conlleval F1"], rows, left=2,
    )
    lines += ["", "## Per type (strict)", ""]
    header = ["type", "support", "model P", "model R", "model F1", "model F1 (conlleval)"]
    header += [f"{n} F1" for n, _, _ in systems[1:]]
    rows = []
    for t in labels:
        m = metrics["strict"]["per_type"].get(t)
        mc = metrics["conlleval"]["per_type"].get(t)
        row = [t, str(m["support"]) if m else "0", _f(m and m["precision"]), _f(m and m["recall"]),
               _f(m and m["f1"]), _f(mc and mc["f1"])]
        for _, block, types in systems[1:]:
            if types is not None and t not in types:
                row.append("n/a")
            else:
                b = block["strict"]["per_type"].get(t)
                row.append(_f(b and b["f1"]))
        rows.append(row)
    lines += _md_table(header, rows)
    lines += ["", "## Per article", ""]
    header = ["article", "strict P", "strict R", "strict F1", "conlleval F1"] + [f"{n} F1" for n, _, _ in systems[1:]]
    rows = []
    for doc, o in metrics["strict"]["per_article"].items():
        row = [doc, _f(o["precision"]), _f(o["recall"]), _f(o["f1"]), _f(metrics["conlleval"]["per_article"][doc]["f1"])]
        row += [_f(b["strict"]["per_article"].get(doc, {}).get("f1")) for _, b, _ in systems[1:]]
        rows.append(row)
    lines += _md_table(header, rows)

    cases_by_kind: dict[str, list[tuple[Sentence, ErrorCase]]] = {k: [] for k in ERROR_KINDS}
    for s, p in zip(sentences, pred):
        for case in classify_errors(s.tags, p):
            cases_by_kind[case.kind].append((s, case))
    lines += [
        "", "## Errors", "",
        (
            "Entities matched by overlap (identical spans first, then largest overlap, one to one; the leftover "
            "pieces of a split or merged entity count as boundary errors against the entity they overlap most). "
            "Predictions are read as conlleval reads them (an `I-X` that cannot continue starts an entity). "
            "Wrong boundary + wrong type is its own kind. Baselines' counts are on their scored types."
        ),
        "",
    ]
    header = ["kind", "meaning", "model"] + [n for n, _, _ in systems[1:]]
    rows = [
        [k, ERROR_DESCRIPTIONS[k], str(metrics["errors"][k])] + [str(b["errors"][k]) for _, b, _ in systems[1:]]
        for k in ERROR_KINDS
    ]
    lines += _md_table(header, rows, left=2)
    lines += ["", f"### Examples (model, up to {examples} per kind)", ""]
    for kind in ERROR_KINDS:
        found = cases_by_kind[kind]
        lines += [f"#### {kind}: {ERROR_DESCRIPTIONS[kind]} ({len(found)})", ""]
        if not found:
            lines += ["None.", ""]
        for s, case in found[:examples]:
            lines += _example(s, case) + [""]
    lines += [
        "## Plots", "",
        "Per-type strict F1, model and baselines (n/a: a type the baseline does not predict):", "",
        "![per-type F1](per_type_f1.png)", "",
        "Type confusion over entities matched by overlap (rows gold, columns predicted):", "",
        "![confusion](confusion.png)", "",
    ]
    return "\n".join(lines)


def _cv_section(metrics: dict) -> list[str]:
    cv = metrics["cv"]
    names = [MODEL_NAME] + list(metrics.get("baselines", {}))
    lines = [
        "## Cross-validation", "",
        (
            f"{len(cv['folds'])} folds, each tested on its held-out article. Mean ± sample standard deviation of "
            "the per-fold micro F1, and the micro F1 pooled over all folds' held-out predictions (the scores below)."
        ),
        "",
    ]
    header = ["fold", "test articles"] + [f"{n} strict F1" for n in names] + ["model conlleval F1"]
    rows = []
    for fold, f in cv["folds"].items():
        row = [fold, ", ".join(f["articles"])] + [_f(f["strict_f1"].get(n)) for n in names]
        rows.append(row + [_f(f["conlleval_f1"][MODEL_NAME])])
    summary = cv["summary"]

    def ms(n: str, mode: str) -> str:
        s = summary[n][mode]
        return f"{_f(s['mean'])} ± {_f(s['std'])}"

    rows.append(["**mean ± std**", ""] + [ms(n, "strict_f1") for n in names] + [ms(MODEL_NAME, "conlleval_f1")])
    rows.append(
        ["**pooled**", ""] + [_f(b["strict"]["overall"]["f1"]) for _, b, _ in _systems(metrics)]
        + [_f(metrics["conlleval"]["overall"]["f1"])]
    )
    return lines + _md_table(header, rows, left=2) + [""]


def _save_figure(fig, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    with atomic_open(path, "wb") as f:
        f.write(buf.getvalue())


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_per_type_f1(metrics: dict, path: str | Path) -> None:
    """Grouped bars of per-type strict F1: the model and each baseline; 'n/a' where a baseline has no such type."""
    plt = _pyplot()
    labels = metrics.get("labels") or []
    systems = _systems(metrics)
    width = 0.8 / max(len(systems), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(labels) + 2), 4))
    for k, (name, block, types) in enumerate(systems):
        xs, ys = [], []
        for i, t in enumerate(labels):
            x = i - 0.4 + width * (k + 0.5)
            if types is not None and t not in types:
                ax.text(x, 0.02, "n/a", ha="center", va="bottom", rotation=90, fontsize=8, color="gray")
                continue
            xs.append(x)
            ys.append(block["strict"]["per_type"].get(t, {}).get("f1", 0.0))
        ax.bar(xs, ys, width=width, label=name)
    support = metrics["strict"]["per_type"]
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels([f"{t}\n(n={support.get(t, {}).get('support', 0)})" for t in labels])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 (strict IOB2)")
    ax.set_title("Per-type F1 on the held-out articles")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _save_figure(fig, Path(path))
    plt.close(fig)


def plot_confusion(confusion: dict, path: str | Path) -> None:
    """The type confusion matrix of `confusion_counts` as an annotated heat map."""
    plt = _pyplot()
    rows, columns, counts = confusion["rows"], confusion["columns"], confusion["counts"]
    fig, ax = plt.subplots(figsize=(1.1 * len(columns) + 2.5, 0.8 * len(rows) + 1.8))
    ax.imshow(counts, cmap="Blues")
    peak = max((max(r) for r in counts), default=0) or 1
    for r, row in enumerate(counts):
        for c, v in enumerate(row):
            if r == len(rows) - 1 and c == len(columns) - 1:
                continue
            ax.text(c, r, str(v), ha="center", va="center", color="white" if v > peak / 2 else "black")
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels(columns, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title("Type confusion over entities matched by overlap")
    _save_figure(fig, Path(path))
    plt.close(fig)


def write_evaluation(
    out_dir: str | Path,
    metrics: dict,
    sentences: Sequence[Sentence],
    pred: Sequence[Sequence[str]],
    examples: int = 5,
    title: str = "",
) -> Path:
    """Write the five files of an evaluation folder, each atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "predictions.conll", format_conll(sentences, pred))
    plot_per_type_f1(metrics, out_dir / "per_type_f1.png")
    plot_confusion(metrics["confusion"], out_dir / "confusion.png")
    atomic_write_text(out_dir / "report.md", render_report(metrics, sentences, pred, examples, title))
    atomic_write_json(out_dir / "metrics.json", metrics)  # last: its presence means the folder is complete
    return out_dir


def _text_table(rows: Sequence[Sequence[str]], left: int = 2) -> list[str]:
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(len(r) for r in rows))]
    return [
        "  ".join(c.ljust(widths[i]) if i < left else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip()
        for r in rows
    ]


def format_table(metrics: dict) -> str:
    """Plain-text tables for the terminal: overall scores of each system, per-type strict F1, folds."""
    labels = metrics.get("labels") or []
    systems = _systems(metrics)
    rows = [["system", "types", "strict P", "R", "F1", "macro F1", "conlleval P", "R", "F1"]]
    for name, block, types in systems:
        s, c = block["strict"], block["conlleval"]
        rows.append([
            name, _types_label(types, labels), _f(s["overall"]["precision"]), _f(s["overall"]["recall"]),
            _f(s["overall"]["f1"]), _f(s["macro"]["f1"]), _f(c["overall"]["precision"]), _f(c["overall"]["recall"]),
            _f(c["overall"]["f1"]),
        ])
    lines = _text_table(rows) + [""]
    rows = [["strict F1 per type", "support"] + [n for n, _, _ in systems]]
    for t in labels:
        row = [t, str(metrics["strict"]["per_type"].get(t, {}).get("support", 0))]
        for _, block, types in systems:
            row.append("n/a" if types is not None and t not in types
                       else _f(block["strict"]["per_type"].get(t, {}).get("f1")))
        rows.append(row)
    lines += _text_table(rows, left=1) + [""]
    if metrics.get("cv"):
        rows = [["fold", "test articles"] + [f"{n} F1" for n, _, _ in systems]]
        for fold, f in metrics["cv"]["folds"].items():
            rows.append([fold, ", ".join(f["articles"])] + [_f(f["strict_f1"].get(n)) for n, _, _ in systems])
        summary = metrics["cv"]["summary"]
        rows.append(["mean ± std", ""] + [
            f"{_f(summary[n]['strict_f1']['mean'])} ± {_f(summary[n]['strict_f1']['std'])}" for n, _, _ in systems
        ])
        rows.append(["pooled", ""] + [_f(b["strict"]["overall"]["f1"]) for _, b, _ in systems])
        lines += _text_table(rows) + [""]
    err = metrics.get("errors", {})
    lines.append("model errors: " + ", ".join(f"{k} {err.get(k, 0)}" for k in ERROR_KINDS))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Running


@dataclass
class EvalResult:
    metrics: dict
    sentences: list[Sentence]
    predictions: list[list[str]]
    baselines: dict[str, SystemPredictions] = field(default_factory=dict)
    out_dir: Path | None = None


def check_unseen(parts: Mapping[str, Sequence[Sentence]], split: str) -> None:
    """Refuse to score sentences the model trained on (same tokens in the held-out part and in train)."""
    seen = {tuple(s.tokens): s for s in parts["train"]}
    for s in parts[split]:
        if tuple(s.tokens) in seen:
            twin = seen[tuple(s.tokens)]
            raise ValueError(
                f"{split} sentence {s.sent_id} ({s.doc_id}) is also training sentence {twin.sent_id} ({twin.doc_id}): "
                "a score on it would measure memory, not generalisation; remove one of them and retrain"
            )


def run_baselines(
    train_sentences: Sequence[Sentence],
    sentences: Sequence[Sentence],
    segmenter: str = "pyvi",
    encoder: tuple[Sequence[tuple], Sequence[str]] | None = None,
) -> tuple[dict[str, SystemPredictions], dict[str, str]]:
    """The CRF (trained on `train_sentences`) and underthesea zero-shot on `sentences`.

    With `encoder` (the model's `Tagger.word_distributions` for `sentences`, and its labels), also the
    ensemble of the model and this CRF (`ensemble.pooled_sentence`, equal weights).
    Returns (predictions by name, reasons for the baselines that could not run, e.g. a missing package).
    """
    from .baselines import CRF_NAME, UNDERTHESEA_NAME, UNDERTHESEA_TYPES, train_crf, underthesea_predict
    from .ensemble import ENSEMBLE_NAME, pooled_sentence

    tokens = [list(s.tokens) for s in sentences]
    out: dict[str, SystemPredictions] = {}
    skipped: dict[str, str] = {}
    try:
        crf = train_crf(train_sentences, segmenter=segmenter)
    except ImportError as e:
        skipped[CRF_NAME] = f"not installed ({e}); pip install 'antq-ner[eval]'"
    else:
        out[CRF_NAME] = SystemPredictions(crf.predict(tokens))
        if encoder is not None:
            distributions, labels = encoder
            out[ENSEMBLE_NAME] = SystemPredictions(
                [pooled_sentence(t, p, sp, crf, labels, 0.5)[0] for t, (p, sp) in zip(tokens, distributions)]
            )
    try:
        out[UNDERTHESEA_NAME] = SystemPredictions(underthesea_predict(tokens), tuple(UNDERTHESEA_TYPES))
    except ImportError as e:
        skipped[UNDERTHESEA_NAME] = f"not installed ({e}); pip install 'antq-ner[eval]'"
    return out, skipped


def evaluate_run(
    model_dir: str | Path, split: str = "test", baselines: bool = True, examples: int = 5, write: bool = True
) -> EvalResult:
    """Tag the held-out part `split` of the run's own split with the checkpoint; score; write `eval/<split>/`.

    The CRF baseline trains on the run's train and dev articles (train only when evaluating on dev).
    """
    from .inference import Tagger
    from .training import data_files, load_split_sentences

    model_dir = Path(model_dir)
    if split not in ("test", "dev"):
        raise ValueError(f"--split {split!r}: expected test or dev")
    cfg = read_run_config(model_dir)
    check_paths(cfg)
    recorded = recorded_split(model_dir)
    parts = load_split_sentences(cfg, recorded)
    check_unseen(parts, split)
    sentences = parts[split]
    if not sentences:
        raise ConfigError(f"data.split {cfg.data.split!r}: the {split} part has no sentences")
    tagger = Tagger.from_pretrained(model_dir)
    tokens = [list(s.tokens) for s in sentences]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SegmenterFallbackWarning)
        distributions = tagger.word_distributions(tokens)
    fallbacks = [str(w.message) for w in caught if issubclass(w.category, SegmenterFallbackWarning)]
    encoder_pred = [t.tags for t in tagger.decode(distributions)]
    pred = encoder_pred
    if tagger.crf is not None:
        from .ensemble import pooled_sentence

        pred = [
            pooled_sentence(t, p, sp, tagger.crf, tagger.labels, tagger.crf_weight)[0]
            for t, (p, sp) in zip(tokens, distributions)
        ]
    systems: dict[str, SystemPredictions] = {}
    skipped: dict[str, str] = {}
    if baselines:
        crf_train = parts["train"] + (parts["dev"] if split == "test" else [])
        # The CRF's features always use pyvi words, whatever the model's own segmenter: one baseline.
        # Beside it, the model's other form: the encoder alone for a checkpoint with a CRF, else the
        # encoder pooled with this CRF.
        pooled_with = None if tagger.crf is not None else (distributions, tagger.labels)
        systems, skipped = run_baselines(crf_train, sentences, encoder=pooled_with)
        if tagger.crf is not None:
            systems[ENCODER_NAME] = SystemPredictions(encoder_pred)
    metrics = {
        "model": str(model_dir),
        "split": split,
        "data_split": cfg.data.split,
        "articles_by_part": recorded,  # from the checkpoint's metrics.json, as trained
        "segmenter_fallbacks": fallbacks,  # sentences read one word per syllable (segment.word_spans)
        **provenance(data_files(cfg, recorded)),
        **evaluation_metrics(sentences, pred, systems, cfg.data.labels),
    }
    if skipped:
        metrics["baselines_skipped"] = skipped
    result = EvalResult(metrics, sentences, pred, systems)
    if write:
        title = f"Evaluation of {model_dir.name} on its {split} article(s)"
        result.out_dir = write_evaluation(model_dir / "eval" / split, metrics, sentences, pred, examples, title)
    return result


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return {"mean": None, "std": None}
    return {"mean": statistics.fmean(vals), "std": statistics.stdev(vals) if len(vals) > 1 else 0.0}


def cross_validate(
    config: str | Path | Config,
    overrides: Sequence[str] = (),
    folds: Sequence[str] | None = None,
    baselines: bool = True,
    examples: int = 5,
    log=print,
) -> EvalResult:
    """Train and evaluate one model per fold; write the pooled evaluation to `<output_dir>/<run_name>-cv/`."""
    from .training import train

    cfg = config if isinstance(config, Config) else load_config(config, list(overrides))
    available = list_folds(cfg.data.splits_file)
    if not available:
        raise ConfigError(f"{cfg.data.splits_file}: no fold-* splits to cross-validate on")
    folds = list(folds) if folds else available
    unknown = [f for f in folds if f not in available]
    if unknown:
        raise ConfigError(f"--folds: {', '.join(unknown)} not in {cfg.data.splits_file} (folds: {', '.join(available)})")
    results: dict[str, EvalResult] = {}
    for fold in folds:
        fold_cfg = dataclasses.replace(
            cfg, run_name=f"{cfg.run_name}-{fold}", data=dataclasses.replace(cfg.data, split=fold)
        )
        check_paths(fold_cfg)
        log(f"[{fold}] training {fold_cfg.run_dir}")
        train(fold_cfg)
        # The Trainer's per-epoch saves (weights and optimizer state) only serve --resume of one run.
        shutil.rmtree(fold_cfg.run_dir / "checkpoints", ignore_errors=True)
        results[fold] = evaluate_run(fold_cfg.run_dir, "test", baselines, examples)
        log(f"[{fold}] strict F1 {_f(results[fold].metrics['strict']['overall']['f1'])}")

    sentences = [s for r in results.values() for s in r.sentences]
    pred = [p for r in results.values() for p in r.predictions]
    names = list(next(iter(results.values())).baselines)
    pooled_baselines = {
        n: SystemPredictions(
            [p for r in results.values() for p in r.baselines[n].tags], next(iter(results.values())).baselines[n].types
        )
        for n in names
        if all(n in r.baselines for r in results.values())
    }
    metrics = evaluation_metrics(sentences, pred, pooled_baselines, cfg.data.labels)
    fold_rows = {}
    for fold, r in results.items():
        m = r.metrics
        fold_rows[fold] = {
            "run_dir": m["model"],
            "articles": m["articles"],
            "strict_f1": {MODEL_NAME: m["strict"]["overall"]["f1"]}
            | {n: b["strict"]["overall"]["f1"] for n, b in m["baselines"].items()},
            "conlleval_f1": {MODEL_NAME: m["conlleval"]["overall"]["f1"]}
            | {n: b["conlleval"]["overall"]["f1"] for n, b in m["baselines"].items()},
            "scores": {"strict": m["strict"], "conlleval": m["conlleval"], "baselines": m["baselines"]},
        }
    summary = {
        n: {mode: _mean_std([f[mode].get(n) for f in fold_rows.values()]) for mode in ("strict_f1", "conlleval_f1")}
        for n in [MODEL_NAME, *pooled_baselines]
    }
    metrics = {
        "config": str(config) if not isinstance(config, Config) else None,
        "run_name": cfg.run_name,
        "model": [row["run_dir"] for row in fold_rows.values()],  # one checkpoint per fold
        "split": "cv",
        **provenance(),
        "data_sha256": {k: v for r in results.values() for k, v in r.metrics["data_sha256"].items()},
        **metrics,
        "cv": {
            "folds": fold_rows,
            "summary": summary,
            "std": "sample standard deviation (n-1) of the per-fold micro F1; 0 for one fold",
            "pooled": "all folds' held-out predictions concatenated, then scored (the top-level scores)",
        },
    }
    skipped = {n: why for r in results.values() for n, why in r.metrics.get("baselines_skipped", {}).items()}
    if skipped:
        metrics["baselines_skipped"] = skipped
    out_dir = Path(cfg.output_dir) / f"{cfg.run_name}-cv"
    title = f"Cross-validation of {cfg.run_name} ({len(folds)} folds, pooled)"
    write_evaluation(out_dir, metrics, sentences, pred, examples, title)
    return EvalResult(metrics, sentences, pred, pooled_baselines, out_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="evaluate.py",
        description="Score a checkpoint on its held-out articles (with baselines, errors, plots), "
        "or cross-validate a config over the fold-* splits.",
    )
    parser.add_argument("--model", help="checkpoint folder written by train.py, e.g. models/offline")
    parser.add_argument("--split", default="test", choices=["test", "dev"], help="held-out part to score (--model)")
    parser.add_argument("--cv", action="store_true", help="cross-validate --config over the fold-* splits")
    parser.add_argument("--config", help="--cv: YAML config, e.g. configs/offline.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="--cv: override a config value (repeatable)")
    parser.add_argument("--folds", help="--cv: comma-separated subset of folds, e.g. fold-ct07,fold-bac-lieu")
    parser.add_argument("--no-baselines", action="store_true", help="skip the CRF and underthesea baselines")
    parser.add_argument("--examples", type=int, default=5, metavar="N", help="error examples per kind in report.md")
    args = parser.parse_args(argv)
    if args.cv == bool(args.model):
        parser.error("give either --model DIR or --cv --config FILE")
    if args.cv and not args.config:
        parser.error("--cv needs --config")
    if not args.cv and (args.config or args.set or args.folds):
        parser.error("--config, --set and --folds go with --cv")
    try:
        if args.cv:
            folds = [f.strip() for f in args.folds.split(",") if f.strip()] if args.folds else None
            result = cross_validate(args.config, args.set, folds, not args.no_baselines, args.examples)
        else:
            result = evaluate_run(args.model, args.split, not args.no_baselines, args.examples)
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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
