"""An evaluation's report.md, terminal tables and plots, from its metrics (`scoring.evaluation_metrics`).

Each table is built once as text cells (`_Table`) and rendered twice with tabulate: as Markdown in
report.md and as plain text for the terminal (`format_table`). Error kinds: `antq_ner.errors`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from .bio import Sentence, format_conll
from .errors import ERROR_DESCRIPTIONS, ERROR_KINDS, ErrorCase, case_window, classify_errors, mark_span
from .io_utils import atomic_open, atomic_write_json, atomic_write_text
from .scoring import MODEL_NAME

__all__ = [
    "FILES",
    "format_table",
    "plot_confusion",
    "plot_per_type_f1",
    "render_report",
    "write_evaluation",
]

FILES = ("metrics.json", "predictions.conll", "report.md", "per_type_f1.png", "confusion.png")


def _f(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _systems(metrics: dict) -> list[tuple[str, dict, list[str] | None]]:
    """(name, block, scored types or None for all) for the model and each baseline."""
    return [(MODEL_NAME, metrics, None)] + [(n, b, b.get("types")) for n, b in metrics.get("baselines", {}).items()]


def _types_label(types: list[str] | None, labels: list[str]) -> str:
    return "all" if types is None or list(types) == list(labels) else ", ".join(types)


# ----------------------------------------------------------------------------------------------
# Tables: built once, rendered as Markdown (report.md) and as plain text (terminal)


class _Table(NamedTuple):
    """A table as text cells; its first `left` columns are text (left-aligned), the others numbers."""

    header: list[str]
    rows: list[list[str]]
    left: int = 1


def _render(table: _Table, tablefmt: str) -> list[str]:
    from tabulate import tabulate

    align = ["left" if i < table.left else "right" for i in range(len(table.header))]
    return tabulate(table.rows, table.header, tablefmt=tablefmt, colalign=align, disable_numparse=True).splitlines()


def _md_table(table: _Table) -> list[str]:
    """A Markdown table, `|` in a cell escaped; tabulate's "pipe" format, as "github" drops the `---:`
    that right-aligns the number columns."""
    return _render(table._replace(rows=[[c.replace("|", "\\|") for c in r] for r in table.rows]), "pipe")


def _text_table(table: _Table) -> list[str]:
    return _render(table, "simple")


def _scores_table(metrics: dict) -> _Table:
    """Overall scores of the model and each baseline, strict and conlleval."""
    labels = metrics.get("labels") or []
    header = ["system", "types", "strict P", "strict R", "strict F1", "strict macro F1", "conlleval P", "conlleval R",
              "conlleval F1"]
    rows = []
    for name, block, types in _systems(metrics):
        s, c = block["strict"], block["conlleval"]
        rows.append([
            name, _types_label(types, labels),
            _f(s["overall"]["precision"]), _f(s["overall"]["recall"]), _f(s["overall"]["f1"]), _f(s["macro"]["f1"]),
            _f(c["overall"]["precision"]), _f(c["overall"]["recall"]), _f(c["overall"]["f1"]),
        ])
    return _Table(header, rows, left=2)


def _per_type_table(metrics: dict) -> _Table:
    """Per type: the model's strict P/R/F1 and conlleval F1, each baseline's strict F1 (n/a: a type it does not score)."""
    labels = metrics.get("labels") or []
    baselines = _systems(metrics)[1:]
    header = ["type", "support", "model P", "model R", "model F1", "model F1 (conlleval)"]
    header += [f"{n} F1" for n, _, _ in baselines]
    rows = []
    for t in labels:
        m = metrics["strict"]["per_type"].get(t)
        mc = metrics["conlleval"]["per_type"].get(t)
        row = [t, str(m["support"]) if m else "0", _f(m and m["precision"]), _f(m and m["recall"]),
               _f(m and m["f1"]), _f(mc and mc["f1"])]
        for _, block, types in baselines:
            if types is not None and t not in types:
                row.append("n/a")
            else:
                b = block["strict"]["per_type"].get(t)
                row.append(_f(b and b["f1"]))
        rows.append(row)
    return _Table(header, rows)


def _per_article_table(metrics: dict) -> _Table:
    """Per article: the model's strict P/R/F1 and conlleval F1, each baseline's strict F1."""
    baselines = _systems(metrics)[1:]
    header = ["article", "strict P", "strict R", "strict F1", "conlleval F1"] + [f"{n} F1" for n, _, _ in baselines]
    rows = []
    for doc, o in metrics["strict"]["per_article"].items():
        row = [doc, _f(o["precision"]), _f(o["recall"]), _f(o["f1"]), _f(metrics["conlleval"]["per_article"][doc]["f1"])]
        row += [_f(b["strict"]["per_article"].get(doc, {}).get("f1")) for _, b, _ in baselines]
        rows.append(row)
    return _Table(header, rows)


def _cv_table(metrics: dict) -> _Table:
    """Per fold: each system's strict F1 and the model's conlleval F1; then mean ± std and the pooled scores."""
    cv = metrics["cv"]
    names = [MODEL_NAME] + list(metrics.get("baselines", {}))
    header = ["fold", "test articles"] + [f"{n} strict F1" for n in names] + ["model conlleval F1"]
    rows = []
    for fold, f in cv["folds"].items():
        row = [fold, ", ".join(f["articles"])] + [_f(f["strict_f1"].get(n)) for n in names]
        rows.append(row + [_f(f["conlleval_f1"][MODEL_NAME])])
    summary = cv["summary"]

    def ms(n: str, mode: str) -> str:
        s = summary[n][mode]
        return f"{_f(s['mean'])} ± {_f(s['std'])}"

    rows.append(["mean ± std", ""] + [ms(n, "strict_f1") for n in names] + [ms(MODEL_NAME, "conlleval_f1")])
    rows.append(
        ["pooled", ""] + [_f(b["strict"]["overall"]["f1"]) for _, b, _ in _systems(metrics)]
        + [_f(metrics["conlleval"]["overall"]["f1"])]
    )
    return _Table(header, rows, left=2)


def _errors_table(metrics: dict) -> _Table:
    """Count of each error kind, the model's and each baseline's."""
    baselines = _systems(metrics)[1:]
    header = ["kind", "meaning", "model"] + [n for n, _, _ in baselines]
    rows = [
        [k, ERROR_DESCRIPTIONS[k], str(metrics["errors"][k])] + [str(b["errors"][k]) for _, b, _ in baselines]
        for k in ERROR_KINDS
    ]
    return _Table(header, rows, left=2)


def format_table(metrics: dict) -> str:
    """Plain-text tables for the terminal: overall scores of each system, per type, folds; the model's errors."""
    lines = _text_table(_scores_table(metrics)) + [""]
    lines += _text_table(_per_type_table(metrics)) + [""]
    if metrics.get("cv"):
        lines += _text_table(_cv_table(metrics)) + [""]
    err = metrics.get("errors", {})
    lines.append("model errors: " + ", ".join(f"{k} {err.get(k, 0)}" for k in ERROR_KINDS))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# report.md


def _example(sentence: Sentence, case: ErrorCase, context: int = 8) -> list[str]:
    lo, hi = case_window(case, len(sentence.tokens), context)
    describe = ", ".join(
        f"{who} {s.label} {s.start}–{s.end}" for who, s in (("gold", case.gold_span), ("predicted", case.pred_span)) if s
    )
    return [
        f"- `{sentence.sent_id}` ({describe})",
        "",
        "  ```text",
        f"  gold: {mark_span(sentence.tokens, case.gold_span, lo, hi)}",
        f"  pred: {mark_span(sentence.tokens, case.pred_span, lo, hi)}",
        "  ```",
    ]


def render_report(
    metrics: dict, sentences: Sequence[Sentence], pred: Sequence[Sequence[str]], examples: int = 5, title: str = ""
) -> str:
    """report.md: scores, per-type and per-article tables, errors with examples, the plots."""
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
    lines += ["## Scores", ""] + _md_table(_scores_table(metrics))
    lines += ["", "## Per type (strict)", ""] + _md_table(_per_type_table(metrics))
    lines += ["", "## Per article", ""] + _md_table(_per_article_table(metrics))

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
    lines += _md_table(_errors_table(metrics))
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
    lines = [
        "## Cross-validation", "",
        (
            f"{len(cv['folds'])} folds, each tested on its held-out article. Mean ± sample standard deviation of "
            "the per-fold micro F1, and the micro F1 pooled over all folds' held-out predictions (the scores below)."
        ),
        "",
    ]
    return lines + _md_table(_cv_table(metrics)) + [""]


# ----------------------------------------------------------------------------------------------
# Plots and files


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
    """The type confusion matrix of `confusion_counts` as an annotated heat map (rows gold, columns predicted)."""
    import numpy as np
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    rows, columns = confusion["rows"], confusion["columns"]
    fig, ax = plt.subplots(figsize=(1.1 * len(columns) + 2.5, 0.8 * len(rows) + 1.8))
    display = ConfusionMatrixDisplay(np.array(confusion["counts"]), display_labels=columns)
    display.plot(ax=ax, cmap="Blues", colorbar=False)
    # Rows and columns differ in their last label (spurious: no gold; missed: no prediction), and
    # their corner cell counts nothing by construction: left blank.
    ax.set_yticklabels(rows)
    display.text_[-1, -1].set_text("")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
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
