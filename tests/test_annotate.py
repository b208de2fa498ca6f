"""`antq-ner annotate export|rank`: tasks with the model's pre-annotations, scored by MNLP, in the
order an annotator should see them; and the confidence itself."""

from __future__ import annotations

import json
import math

import pytest
from conftest import ANNOTATIONS

from antq_ner.annotate import score_documents
from antq_ner.checkpoint import checkpoint_version
from antq_ner.cli import main as antq_ner
from antq_ner.cli import predict_main
from antq_ner.documents import InputDocument, corpus_id, read_inputs
from antq_ner.inference import Tagger
from antq_ner.uncertainty import sequence_confidence

REPORTS = ("syn-pccc-01", "syn-ma-tuy-02", "syn-khen-thuong-03", "syn-vu-an-01")


def test_sequence_confidence_is_the_geometric_mean_of_the_token_probabilities():
    assert sequence_confidence([[0.5, 0.5], [0.5]]) == pytest.approx(0.5)
    assert sequence_confidence([[0.9, 0.1]]) == pytest.approx(math.sqrt(0.09))
    # length-normalised: the same tokens twice are as certain as once
    assert sequence_confidence([[0.9, 0.6]] * 3) == pytest.approx(sequence_confidence([[0.9, 0.6]]))
    assert sequence_confidence([]) == sequence_confidence([[]]) == 1.0
    assert sequence_confidence([[0.0, 1.0]]) > 0.0  # a probability of 0 does not make it -inf
    with pytest.raises(ValueError, match="not in"):
        sequence_confidence([[1.5]])


def test_corpus_ids_are_file_names():
    assert corpus_id(InputDocument("reports/a b.txt", "x", "reports/a b.txt")) == "a-b"
    assert corpus_id(InputDocument("news/2024/07 x", "x", "in.jsonl", 3)) == "news-2024-07-x"
    assert corpus_id(InputDocument("-", "x", "-")) == "stdin"


@pytest.fixture
def reports(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    for doc in REPORTS:
        (folder / f"{doc}.txt").write_bytes((ANNOTATIONS / "synthetic" / "raw" / f"{doc}.txt").read_bytes())
    return folder


def test_export_holds_predict_py_entities_and_the_confidence(tiny_checkpoint, reports, tmp_path):
    out = tmp_path / "tasks.json"
    assert antq_ner(["annotate", "export", "--model", str(tiny_checkpoint), str(reports), "-o", str(out)]) == 0
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert [t["data"]["doc_id"] for t in tasks] == sorted(REPORTS)
    assert predict_main(["--model", str(tiny_checkpoint), str(reports), "-o", str(tmp_path / "p.jsonl")]) == 0
    predicted = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()]
    tagger = Tagger.from_pretrained(tiny_checkpoint)
    scored = score_documents(tagger, read_inputs([str(reports)]))
    assert any(p["entities"] for p in predicted), "the model predicts nothing: nothing to compare"
    for task, pred, doc in zip(tasks, predicted, scored, strict=True):
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == checkpoint_version(tiny_checkpoint)
        assert prediction["score"] == pytest.approx(doc.confidence, abs=1e-6)
        assert [(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0], r["score"]) for r in prediction["result"]] == [
            (e["start"], e["end"], e["type"], e["score"]) for e in pred["entities"]]
        assert all(task["data"]["text"][r["value"]["start"]:r["value"]["end"]] == r["value"]["text"]
                   for r in prediction["result"])
    config = (tmp_path / "tasks.label_config.xml").read_text(encoding="utf-8")
    assert config.count("<Label ") == 5


def test_rank_and_top_serve_the_least_certain_first(tiny_checkpoint, reports, tmp_path, capsys):
    assert antq_ner(["annotate", "rank", "--model", str(tiny_checkpoint), str(reports)]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.startswith("confidence\tid")
    confidences = [float(r.split("\t")[0]) for r in rows]
    assert confidences == sorted(confidences) and len(rows) == len(REPORTS)
    out = tmp_path / "top.json"
    assert antq_ner(["annotate", "export", "--model", str(tiny_checkpoint), str(reports), "-o", str(out), "--top", "2"]) == 0
    top = json.loads(out.read_text(encoding="utf-8"))
    assert [t["data"]["doc_id"] for t in top] == [r.split("\t")[1] for r in rows[:2]]


def test_per_sentence_tasks_cut_the_document_and_doccano_lines(tiny_checkpoint, reports, tmp_path):
    out = tmp_path / "tasks.jsonl"
    assert antq_ner(["annotate", "export", "--model", str(tiny_checkpoint), str(reports / f"{REPORTS[0]}.txt"),
                     "--per-sentence", "--format", "doccano", "-o", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["doc_id"] for line in lines] == [f"{REPORTS[0]}-s{k:03d}" for k in range(1, len(lines) + 1)]
    assert not (tmp_path / "tasks.label_config.xml").exists()
    raw = (reports / f"{REPORTS[0]}.txt").read_text(encoding="utf-8")
    assert all(line["text"] in raw for line in lines)
    assert all(0 <= s < e <= len(line["text"]) for line in lines for s, e, _ in line["label"])


def test_bad_arguments_are_one_line(tiny_checkpoint, reports, tmp_path, capsys):
    assert antq_ner(["annotate", "export", "--model", str(tiny_checkpoint), str(reports)]) == 2
    assert "export needs -o FILE" in capsys.readouterr().err
    assert antq_ner(["annotate", "rank", str(reports)]) == 2
    assert "rank needs --model" in capsys.readouterr().err
    assert antq_ner(["annotate", "rank", "--model", str(tiny_checkpoint), str(tmp_path / "none.txt")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert antq_ner(["annotate", "import", "a.json", "b.json"]) == 2
