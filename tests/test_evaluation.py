"""Evaluation: hand-computed scores, strict vs conlleval, error kinds, files of `evaluate.py`, CV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, tiny_config_overrides

from antq_ner.bio import Sentence, Span, format_conll, read_predictions
from antq_ner.errors import (
    ERROR_KINDS,
    NONE_GOLD,
    NONE_PRED,
    ErrorCase,
    classify_errors,
    confusion_counts,
    error_counts,
)
from antq_ner.report import format_table, render_report
from antq_ner.scoring import SystemPredictions, evaluation_metrics, restrict_tags, score_block

LABELS = ("PERSON", "RANK", "ORG", "PROGRAM", "QUANTITY")
FILES = ("metrics.json", "predictions.conll", "report.md", "per_type_f1.png", "confusion.png")
REPORT_SECTIONS = ("## Scores", "## Per type (strict)", "## Per article", "## Errors", "### Examples", "## Plots")


def approx(x: float):
    return pytest.approx(x, abs=1e-9)


def sentence(tokens: str, tags: str, doc: str = "doc-a", sid: str = "1") -> Sentence:
    toks = tuple(tokens.split())
    tg = tuple(tags.split())
    assert len(toks) == len(tg)
    return Sentence(doc, f"{doc}-{sid}", " ".join(toks), toks, tg)


# ------------------------------------------------------------------ scores by hand


def test_scores_equal_hand_computed_values():
    gold = [
        ["B-PERSON", "I-PERSON", "O", "B-ORG", "O"],
        ["B-ORG", "I-ORG", "O", "B-PERSON"],
    ]
    pred = [
        ["B-PERSON", "I-PERSON", "O", "O", "O"],  # PERSON right, ORG missed
        ["B-ORG", "O", "O", "B-PERSON"],  # ORG too short (wrong), PERSON right
    ]
    # gold: 2 PERSON + 2 ORG; predicted: 2 PERSON (both right) + 1 ORG (wrong) -> tp 2, pred 3, gold 4
    scores = score_block(gold, pred)
    for mode in ("strict", "conlleval"):  # all predictions are well-formed: both modes agree
        s = scores[mode]
        assert s["overall"]["precision"] == approx(2 / 3)
        assert s["overall"]["recall"] == approx(2 / 4)
        assert s["overall"]["f1"] == approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))  # 4/7
        assert s["per_type"]["PERSON"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
        assert s["per_type"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
        assert s["macro"]["f1"] == approx(0.5)
        assert s["macro"]["precision"] == approx(0.5)


def test_strict_and_conlleval_differ_on_an_entity_starting_with_i():
    gold = [["B-ORG", "I-ORG", "O", "B-PERSON"]]
    pred = [["I-ORG", "I-ORG", "O", "B-PERSON"]]
    scores = score_block(gold, pred)
    # conlleval reads I-ORG I-ORG as an ORG entity: both entities right
    assert scores["conlleval"]["overall"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert scores["conlleval"]["per_type"]["ORG"]["f1"] == 1.0
    # strict IOB2 does not count it: 1 of 1 predicted entity right, 1 of 2 gold found
    assert scores["strict"]["overall"]["precision"] == approx(1.0)
    assert scores["strict"]["overall"]["recall"] == approx(0.5)
    assert scores["strict"]["overall"]["f1"] == approx(2 / 3)
    assert scores["strict"]["per_type"]["ORG"]["f1"] == 0.0
    assert scores["strict"]["per_type"]["PERSON"]["f1"] == 1.0


def test_evaluation_metrics_per_article_and_restricted_baseline():
    sentences = [
        sentence("Ông A ở Bộ Công an", "O B-PERSON O B-ORG I-ORG I-ORG", "doc-a"),
        sentence("Đại tá B nhận 3 giải", "B-RANK I-RANK B-PERSON O B-QUANTITY I-QUANTITY", "doc-b"),
    ]
    model = [list(sentences[0].tags), ["O", "O", "B-PERSON", "O", "O", "O"]]
    # the baseline finds the RANK too, but it is scored on PERSON and ORG only
    baseline = [["O", "B-PERSON", "O", "O", "O", "O"], ["B-RANK", "I-RANK", "B-PERSON", "O", "O", "O"]]
    m = evaluation_metrics(sentences, model, {"base": SystemPredictions(baseline, ("PERSON", "ORG"))}, LABELS)
    assert m["articles"] == ["doc-a", "doc-b"]
    assert m["gold_entities"] == 5
    assert m["strict"]["per_article"]["doc-a"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert m["strict"]["per_article"]["doc-b"]["precision"] == approx(1.0)
    assert m["strict"]["per_article"]["doc-b"]["recall"] == approx(1 / 3)
    assert m["strict"]["overall"]["recall"] == approx(3 / 5)
    assert m["errors"] == {"exact": 3, "wrong_type": 0, "wrong_boundary": 0, "wrong_boundary_type": 0,
                           "missed": 2, "spurious": 0}
    base = m["baselines"]["base"]
    assert base["types"] == ["PERSON", "ORG"]
    assert set(base["strict"]["per_type"]) == {"PERSON", "ORG"}
    # PERSON 2/2 found, ORG 0/1: precision 2/2, recall 2/3
    assert base["strict"]["overall"]["precision"] == approx(1.0)
    assert base["strict"]["overall"]["recall"] == approx(2 / 3)
    assert base["errors"]["missed"] == 1
    assert m["confusion"]["rows"][-1] == NONE_GOLD and m["confusion"]["columns"][-1] == NONE_PRED
    json.dumps(m)  # serialisable as it is


def test_restrict_tags():
    assert restrict_tags(["B-RANK", "I-RANK", "B-PERSON", "O"], ["PERSON"]) == ["O", "O", "B-PERSON", "O"]


# ------------------------------------------------------------------ error kinds


@pytest.mark.parametrize(
    "gold, pred, expected",
    [
        ("B-ORG I-ORG", "B-ORG I-ORG", [ErrorCase("exact", Span(0, 2, "ORG"), Span(0, 2, "ORG"))]),
        ("B-ORG I-ORG", "B-PERSON I-PERSON", [ErrorCase("wrong_type", Span(0, 2, "ORG"), Span(0, 2, "PERSON"))]),
        ("B-ORG I-ORG O", "O B-ORG I-ORG", [ErrorCase("wrong_boundary", Span(0, 2, "ORG"), Span(1, 3, "ORG"))]),
        ("B-ORG I-ORG", "O B-PERSON",
         [ErrorCase("wrong_boundary_type", Span(0, 2, "ORG"), Span(1, 2, "PERSON"))]),
        ("B-ORG I-ORG O", "O O O", [ErrorCase("missed", Span(0, 2, "ORG"), None)]),
        ("O O O", "O B-QUANTITY O", [ErrorCase("spurious", None, Span(1, 2, "QUANTITY"))]),
        # a predicted entity starting with I- is read as conlleval reads it
        ("O B-ORG I-ORG", "O I-ORG I-ORG", [ErrorCase("exact", Span(1, 3, "ORG"), Span(1, 3, "ORG"))]),
    ],
)
def test_each_error_kind(gold, pred, expected):
    assert classify_errors(gold.split(), pred.split()) == expected


def test_errors_in_one_sentence_split_and_merge():
    gold = ["B-PERSON", "I-PERSON", "O", "B-ORG", "I-ORG", "I-ORG", "O", "O", "B-RANK", "B-RANK"]
    pred = ["B-PERSON", "I-PERSON", "O", "B-ORG", "O", "B-ORG", "O", "B-RANK", "B-RANK", "I-RANK"]
    cases = classify_errors(gold, pred)
    assert cases == [
        ErrorCase("exact", Span(0, 2, "PERSON"), Span(0, 2, "PERSON")),
        ErrorCase("wrong_boundary", Span(3, 6, "ORG"), Span(3, 4, "ORG")),  # the ORG split in two
        ErrorCase("wrong_boundary", Span(3, 6, "ORG"), Span(5, 6, "ORG")),
        ErrorCase("spurious", None, Span(7, 8, "RANK")),
        ErrorCase("wrong_boundary", Span(8, 9, "RANK"), Span(8, 10, "RANK")),  # two RANKs merged in one
        ErrorCase("wrong_boundary", Span(9, 10, "RANK"), Span(8, 10, "RANK")),
    ]
    assert error_counts(cases) == {"exact": 1, "wrong_type": 0, "wrong_boundary": 4, "wrong_boundary_type": 0,
                                   "missed": 0, "spurious": 1}
    confusion = confusion_counts(cases, ["PERSON", "ORG", "RANK"])
    assert confusion["rows"] == ["PERSON", "ORG", "RANK", NONE_GOLD]
    assert confusion["columns"] == ["PERSON", "ORG", "RANK", NONE_PRED]
    assert confusion["counts"] == [[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 1, 0]]


def test_classify_errors_rejects_length_mismatch():
    with pytest.raises(ValueError):
        classify_errors(["O"], ["O", "O"])


# ------------------------------------------------------------------ writers


def test_predictions_round_trip_and_report_sections(tmp_path: Path):
    sentences = [sentence("Ông A ở Bộ Công an", "O B-PERSON O B-ORG I-ORG I-ORG")]
    pred = [["O", "B-PERSON", "O", "B-ORG", "I-ORG", "O"]]
    text = format_conll(sentences, pred)
    assert text.splitlines()[:4] == ["# doc_id = doc-a", "# sent_id = doc-a-1", "# text = Ông A ở Bộ Công an",
                                     "Ông\tO\tO"]
    (tmp_path / "p.conll").write_text(text, encoding="utf-8")
    back, back_pred = read_predictions(tmp_path / "p.conll")
    assert back == sentences and back_pred == pred
    m = evaluation_metrics(sentences, pred, {}, LABELS)
    report = render_report(m, sentences, pred, examples=3, title="t")
    for section in REPORT_SECTIONS:
        assert section in report
    assert "[Bộ Công an](ORG)" in report and "[Bộ Công](ORG)" in report  # the boundary example, both sides
    assert "model errors: exact 1" in format_table(m)


# ------------------------------------------------------------------ end to end


def check_eval_dir(out: Path, baselines: bool) -> dict:
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "per_type_f1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*.tmp"))
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    for key in ("strict", "conlleval", "baselines", "errors", "model", "split", "articles"):
        assert key in metrics, key
    for mode in ("strict", "conlleval"):
        assert set(metrics[mode]) == {"overall", "macro", "per_type", "per_article"}
        assert set(metrics[mode]["overall"]) == {"precision", "recall", "f1"}
    assert set(metrics["errors"]) == set(ERROR_KINDS)
    report = (out / "report.md").read_text(encoding="utf-8")
    for section in REPORT_SECTIONS:
        assert section in report, section
    assert "![per-type F1](per_type_f1.png)" in report and "![confusion](confusion.png)" in report
    sentences, pred = read_predictions(out / "predictions.conll")
    assert len(sentences) == metrics["sentences"] and all(len(s.tokens) == len(p) for s, p in zip(sentences, pred))
    if baselines:
        from antq_ner.baselines import CRF_NAME, UNDERTHESEA_NAME
        from antq_ner.ensemble import ENSEMBLE_NAME

        assert set(metrics["baselines"]) == {CRF_NAME, UNDERTHESEA_NAME, ENSEMBLE_NAME}
        assert metrics["baselines"][UNDERTHESEA_NAME]["types"] == ["PERSON", "ORG"]
        assert set(metrics["baselines"][UNDERTHESEA_NAME]["strict"]["per_type"]) <= {"PERSON", "ORG"}
        assert "n/a" in report
    else:
        assert metrics["baselines"] == {}
    return metrics


def test_evaluate_model_without_baselines(tiny_checkpoint: Path, capsys):
    from antq_ner.cli import evaluate_main

    assert evaluate_main(["--model", str(tiny_checkpoint), "--no-baselines"]) == 0
    printed = capsys.readouterr().out
    assert "strict P" in printed and "model errors:" in printed
    metrics = check_eval_dir(tiny_checkpoint / "eval" / "test", baselines=False)
    assert metrics["split"] == "test" and metrics["articles"] == ["bac-lieu-2023-05-31"]


def test_evaluate_model_in_a_reduced_precision(tiny_checkpoint: Path):
    from antq_ner.cli import evaluate_main

    assert evaluate_main(["--model", str(tiny_checkpoint), "--no-baselines", "--precision", "bf16"]) == 0
    metrics = check_eval_dir(tiny_checkpoint / "eval" / "test-bf16", baselines=False)
    assert metrics["precision"] == "bf16" and metrics["seen_in_training"] == []
    with pytest.raises(SystemExit):
        evaluate_main(["--cv", "--config", str(REPO / "configs" / "scratch.yaml"), "--precision", "bf16"])


def test_evaluate_model_with_baselines_on_dev(tiny_checkpoint: Path):
    from antq_ner.cli import evaluate_main

    assert evaluate_main(["--model", str(tiny_checkpoint), "--split", "dev", "--examples", "2"]) == 0
    metrics = check_eval_dir(tiny_checkpoint / "eval" / "dev", baselines=True)
    assert metrics["articles"] == ["ninh-binh-10-24"]
    # one decoding path: the dev F1 that chose the epoch is the dev F1 the saved model scores
    trained = json.loads((tiny_checkpoint / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["strict"]["overall"]["f1"] == pytest.approx(trained["best_dev"]["f1"], abs=1e-6)


def test_evaluate_usage_errors(tmp_path: Path, capsys):
    from antq_ner.cli import evaluate_main

    with pytest.raises(SystemExit):
        evaluate_main([])
    with pytest.raises(SystemExit):
        evaluate_main(["--cv"])
    assert evaluate_main(["--model", str(tmp_path)]) == 1
    assert "not a checkpoint" in capsys.readouterr().err
    assert evaluate_main(["--cv", "--config", str(REPO / "configs" / "scratch.yaml"), "--folds", "fold-nowhere"]) == 2


def test_cross_validation_two_folds(tmp_path: Path, capsys):
    from antq_ner.cli import evaluate_main

    argv = ["--cv", "--config", str(REPO / "configs" / "scratch.yaml"), "--folds", "fold-ct07,fold-bac-lieu"]
    for assignment in tiny_config_overrides(tmp_path, "cvtiny"):
        argv += ["--set", assignment]
    assert evaluate_main(argv) == 0
    assert "mean ± std" in capsys.readouterr().out
    out = tmp_path / "cvtiny-cv"
    metrics = check_eval_dir(out, baselines=True)
    cv = metrics["cv"]
    assert list(cv["folds"]) == ["fold-ct07", "fold-bac-lieu"]
    assert metrics["articles"] == ["ct07-2019-11-26", "bac-lieu-2023-05-31"]
    f1s = [f["strict_f1"]["model"] for f in cv["folds"].values()]
    assert cv["summary"]["model"]["strict_f1"]["mean"] == approx(sum(f1s) / 2)
    assert cv["summary"]["model"]["strict_f1"]["std"] == approx(abs(f1s[0] - f1s[1]) / 2**0.5)
    # pooled: every fold's held-out sentences, scored together
    fold_sentences = sum(
        json.loads((tmp_path / f"cvtiny-{f}" / "eval" / "test" / "metrics.json").read_text())["sentences"]
        for f in cv["folds"]
    )
    assert metrics["sentences"] == fold_sentences
    assert "## Cross-validation" in (out / "report.md").read_text(encoding="utf-8")
    for fold in cv["folds"]:
        assert (tmp_path / f"cvtiny-{fold}" / "model.safetensors").is_file()
        # The Trainer's per-epoch saves (weights + optimizer state) are gone: --cv never resumes.
        assert not (tmp_path / f"cvtiny-{fold}" / "checkpoints").exists()


def test_evaluation_uses_the_split_recorded_in_the_checkpoint(tiny_checkpoint: Path, tmp_path: Path):
    import shutil

    import yaml

    from antq_ner.evaluation import evaluate_run

    model = tmp_path / "model"
    shutil.copytree(tiny_checkpoint, model, ignore=shutil.ignore_patterns("eval", "checkpoints"))
    # the split edited after training: the test article is now one the model trained on
    splits = yaml.safe_load((REPO / "configs" / "splits.yaml").read_text(encoding="utf-8"))
    default = splits["splits"]["default"]
    default["train"], default["test"] = [*default["train"][1:], default["test"][0]], [default["train"][0]]
    (tmp_path / "splits.yaml").write_text(yaml.safe_dump(splits, allow_unicode=True), encoding="utf-8")
    cfg = yaml.safe_load((model / "training_config.yaml").read_text(encoding="utf-8"))
    cfg["data"]["splits_file"] = str(tmp_path / "splits.yaml")
    (model / "training_config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    result = evaluate_run(model, "test", baselines=False, write=False)
    assert result.metrics["articles"] == ["bac-lieu-2023-05-31"]
    assert result.metrics["articles_by_part"]["test"] == ["bac-lieu-2023-05-31"]


def test_seen_in_training_pairs_held_out_with_training_sentences():
    from antq_ner.evaluation import seen_in_training

    a = Sentence("doc-a", "doc-a-001", "Bộ Công an .", ("Bộ", "Công", "an", "."), ("B-ORG", "I-ORG", "I-ORG", "O"))
    b = Sentence("doc-b", "doc-b-007", "Bộ Công an .", a.tokens, a.tags)
    other = Sentence("doc-b", "doc-b-008", "UBND .", ("UBND", "."), ("B-ORG", "O"))
    assert seen_in_training({"train": [a], "test": [other]}, "test") == []
    assert seen_in_training({"train": [a], "test": [other, b]}, "test") == [(b, a)]


def test_a_held_out_sentence_seen_in_training_is_refused_unless_allowed(tiny_checkpoint: Path, tmp_path: Path):
    import dataclasses
    import shutil

    import yaml

    from antq_ner.bio import read_conll
    from antq_ner.evaluation import evaluate_run

    model = tmp_path / "model"
    shutil.copytree(tiny_checkpoint, model, ignore=shutil.ignore_patterns("eval", "checkpoints"))
    cfg = yaml.safe_load((model / "training_config.yaml").read_text(encoding="utf-8"))
    metrics = json.loads((model / "metrics.json").read_text(encoding="utf-8"))
    bio = tmp_path / "bio"
    shutil.copytree(cfg["data"]["bio_dir"], bio)
    # a training sentence copied to the start of the test article (a repeated photo credit, say)
    train_doc, test_doc = metrics["split"]["train"][0], metrics["split"]["test"][0]
    twin = read_conll(bio / f"{train_doc}.conll")[0]
    test = read_conll(bio / f"{test_doc}.conll")
    copy = dataclasses.replace(twin, doc_id=test_doc, sent_id=f"{test_doc}-999")
    (bio / f"{test_doc}.conll").write_text(format_conll([copy, *test]), encoding="utf-8")
    cfg["data"]["bio_dir"] = str(bio)
    (model / "training_config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")

    with pytest.raises(ValueError, match=rf"1 test sentence.*{test_doc}-999.*{twin.sent_id}.*--allow-seen"):
        evaluate_run(model, "test", baselines=False, write=False)
    result = evaluate_run(model, "test", baselines=False, write=False, allow_seen=True)
    assert result.metrics["seen_in_training"] == [[f"{test_doc}-999", twin.sent_id]]


def test_damaged_metrics_json_is_named(tiny_checkpoint: Path, tmp_path: Path):
    import shutil

    from antq_ner.evaluation import evaluate_run

    model = tmp_path / "model"
    shutil.copytree(tiny_checkpoint, model, ignore=shutil.ignore_patterns("eval", "checkpoints"))
    (model / "metrics.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match=r"metrics\.json: no readable 'split' record"):
        evaluate_run(model, "test", baselines=False, write=False)


def test_metrics_record_their_provenance(tiny_checkpoint: Path):
    from antq_ner.provenance import file_sha256

    for path in (tiny_checkpoint / "metrics.json", tiny_checkpoint / "eval" / "test" / "metrics.json"):
        if not path.exists():
            from antq_ner.evaluation import evaluate_run

            evaluate_run(tiny_checkpoint, "test", baselines=False)
        metrics = json.loads(path.read_text(encoding="utf-8"))
        assert len(metrics["git_commit"]) == 40 and isinstance(metrics["git_dirty"], bool)
        bac_lieu = REPO / "annotations" / "bio" / "bac-lieu-2023-05-31.conll"
        assert metrics["data_sha256"][str(bac_lieu)] == file_sha256(bac_lieu)
        assert {"torch", "transformers", "tokenizers", "pyvi", "antq-ner"} <= set(metrics["versions"])
        assert metrics["versions"]["torch"]
