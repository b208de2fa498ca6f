"""The annotation loop against a real Label Studio server: tasks exported with the model's
pre-annotations, served least certain first, annotated through the API as an annotator would,
exported and imported into a corpus; and `antq-ner serve` connected as the project's ML backend."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from conftest import ANNOTATIONS
from label_studio_server import label_studio  # noqa: F401 -- registers the fixture
from test_serve import call, start_server

from antq_ner.bio import bio_to_spans, read_conll, spans_to_bio
from antq_ner.checkpoint import checkpoint_version
from antq_ner.cli import main as antq_ner
from antq_ner.markup import parse_markup
from antq_ner.text import split_sentences

pytestmark = pytest.mark.integration  # a Label Studio server (about a minute to start) and a trained model

DOCS = ("syn-pccc-02", "syn-ma-tuy-01", "syn-giao-thong-01")


def unlabelled_reports(folder: Path) -> list[Path]:
    """Three of the team's reports, their first lines only, as a user's unlabelled .txt files."""
    folder.mkdir()
    paths = []
    for doc in DOCS:
        text = (ANNOTATIONS / "synthetic" / "raw" / f"{doc}.txt").read_text(encoding="utf-8")
        paths.append(folder / f"{doc}.txt")
        paths[-1].write_text("\n".join(text.splitlines()[:4]), encoding="utf-8")
    return paths


def region(rid: str, start: int, end: int, label: str, text: str) -> dict:
    return {"id": rid, "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}}


def corrected(text: str, predicted: list[dict]) -> list[dict]:
    """What an annotator makes of the pre-annotations: accepts the first, deletes the second (spurious),
    changes the third's type, moves the fourth's end by one token (back, or on where it is one token),
    and adds a mention the model missed (a word no prediction touches, where there is one)."""
    assert len(predicted) >= 4, "the test needs a model that predicts at least four mentions per report"
    first, _, third, fourth = sorted(predicted, key=lambda r: r["value"]["start"])[:4]
    tokens = [t for sent in split_sentences(text) for t in sent]
    taken = [(r["value"]["start"], r["value"]["end"]) for r in predicted]

    def free(t) -> bool:
        return not any(s < t.end and t.start < e for s, e in taken)

    third_label = "PROGRAM" if third["value"]["labels"][0] != "PROGRAM" else "ORG"
    start, end = fourth["value"]["start"], fourth["value"]["end"]
    inside = [t for t in tokens if start <= t.start and t.end <= end]
    after = next(t for t in tokens if t.start >= end)
    moved_end = inside[-2].end if len(inside) > 1 else after.end
    assert len(inside) > 1 or (free(after) and len(split_sentences(text[start:after.end])) == 1)
    kept = [(r["value"]["start"], r["value"]["end"]) for r in (first, third)] + [(start, moved_end)]
    candidates = [t for t in tokens if t.text.isalpha() and not any(s < t.end and t.start < e for s, e in kept)]
    missed = next((t for t in candidates if free(t)), candidates[0])  # a token no prediction touches, if any
    return [
        first,
        region("retyped", third["value"]["start"], third["value"]["end"], third_label, text),
        region("moved", start, moved_end, fourth["value"]["labels"][0], text),
        region("added", missed.start, missed.end, "PERSON", text),
    ]


def test_export_annotate_in_label_studio_import_into_the_corpus(label_studio, tiny_checkpoint, tmp_path, capsys):  # noqa: F811
    inputs = unlabelled_reports(tmp_path / "reports")
    tasks_file = tmp_path / "tasks.json"
    assert antq_ner(["annotate", "export", "--model", str(tiny_checkpoint), *map(str, inputs), "-o", str(tasks_file)]) == 0
    tasks = json.loads(tasks_file.read_text(encoding="utf-8"))
    config = (tmp_path / "tasks.label_config.xml").read_text(encoding="utf-8")
    by_confidence = sorted(tasks, key=lambda t: t["predictions"][0]["score"])
    assert len({t["predictions"][0]["score"] for t in tasks}) == len(tasks)  # a strict order to check

    ls = label_studio.client()
    project = ls.projects.create(title="antq-ner loop", label_config=config)
    ls.projects.update(id=project.id, sampling="Uncertainty sampling")
    imported = ls.projects.import_tasks(id=project.id, request=tasks, return_task_ids=True)
    assert imported.prediction_count == len(tasks)
    assert ls.projects.get(id=project.id).model_version == checkpoint_version(tiny_checkpoint)

    # The annotator is served the least certain report first, then the next least certain, and so on.
    served = []
    expected: dict[str, list[dict]] = {}
    for k in range(len(tasks)):
        status, task = call(f"{label_studio.url}/api/projects/{project.id}/next", method="GET",
                            headers=label_studio.headers)
        assert status == 200, task
        doc_id, text = task["data"]["doc_id"], task["data"]["text"]
        served.append(doc_id)
        if k == len(tasks) - 1:  # the last one is skipped
            ls.annotations.create(id=task["id"], result=[], was_cancelled=True)
            continue
        (prediction,) = task["predictions"]
        result = corrected(text, prediction["result"])
        ls.annotations.create(id=task["id"], result=result, was_cancelled=False)
        expected[doc_id] = sorted((r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in result)
    assert served == [t["data"]["doc_id"] for t in by_confidence]

    for export_type in ("JSON", "JSON_MIN"):
        exported = tmp_path / f"export-{export_type}.json"
        exported.write_bytes(b"".join(ls.projects.exports.download_sync(
            project.id, export_type=export_type, download_all_tasks=True)))
        corpus = tmp_path / f"corpus-{export_type}"
        assert antq_ner(["annotate", "import", str(exported), "--annotations", str(corpus)]) == 0
        out, err = capsys.readouterr()
        assert f"imported {len(expected)} document(s)" in out and "built and valid" in out
        if export_type == "JSON":
            assert f"{served[-1]}" not in out and "skipped by the annotator" in err
        for doc_id, spans in expected.items():
            raw = (corpus / "raw" / f"{doc_id}.txt").read_text(encoding="utf-8")
            assert raw == next(t["data"]["text"] for t in tasks if t["data"]["doc_id"] == doc_id)
            text, marked = parse_markup((corpus / "markup" / f"{doc_id}.txt").read_text(encoding="utf-8"))
            assert text == raw and [(s.start, s.end, s.label) for s in marked] == spans
            # BIO: exactly those mentions, token for token
            sentences, got = read_conll(corpus / "bio" / f"{doc_id}.conll"), []
            for s, tokens in zip(sentences, split_sentences(raw)):
                assert list(s.tokens) == [t.text for t in tokens]
                got += [(tokens[sp.start].start, tokens[sp.end - 1].end, sp.label) for sp in bio_to_spans(s.tags)]
                assert list(s.tags) == spans_to_bio(len(tokens), bio_to_spans(s.tags))
            assert got == spans
        assert not (corpus / "raw" / f"{served[-1]}.txt").exists()


def test_antq_ner_serve_as_the_projects_ml_backend(label_studio, tiny_checkpoint, tmp_path):  # noqa: F811
    process, url, _ = start_server(tiny_checkpoint)
    try:
        assert antq_ner(["annotate", "export", "--model", str(tiny_checkpoint),
                         *map(str, unlabelled_reports(tmp_path / "reports")), "-o", str(tmp_path / "t.json")]) == 0
        ls = label_studio.client()
        project = ls.projects.create(title="antq-ner backend",
                                     label_config=(tmp_path / "t.label_config.xml").read_text(encoding="utf-8"))
        backend = ls.ml.create(url=url, project=project.id, title="antq-ner")
        assert backend.state == "CO", backend  # connected: /health and /setup answered
        text = (tmp_path / "reports" / f"{DOCS[0]}.txt").read_text(encoding="utf-8")
        (task_id,) = ls.projects.import_tasks(id=project.id, request=[{"data": {"text": text}}],
                                              return_task_ids=True).task_ids
        ls.actions.create(id="retrieve_tasks_predictions", project=project.id,
                          selected_items={"all": False, "included": [task_id]})
        (prediction,) = ls.predictions.list(task=task_id)
        assert prediction.model_version == checkpoint_version(tiny_checkpoint)
        _, expected = call(f"{url}/entities", {"text": text})
        assert expected["entities"], "the model predicts nothing: nothing to compare"
        assert [(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0], r["value"]["text"])
                for r in prediction.result] == [(e["start"], e["end"], e["type"], e["text"]) for e in expected["entities"]]
        assert all(text[r["value"]["start"]:r["value"]["end"]] == r["value"]["text"] for r in prediction.result)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
