"""Tool exports back into the corpus: every odd case of a Label Studio or doccano export, named by
its task, and nothing in the corpus lost or half-written."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
import yaml

from antq_ner.annotation_tools import (
    ExportError,
    doccano_record,
    label_studio_task,
    labeling_config,
    read_export,
)
from antq_ner.bio import bio_to_spans, read_conll
from antq_ner.cli import main as antq_ner
from antq_ner.corpus_import import ImportRefused, import_tasks
from antq_ner.labels import ENTITY_TYPES
from antq_ner.markup import parse_markup

TEXT = "Đại tá Nguyễn Văn An dự hội nghị của Bộ Công an. Hội nghị có 300 đại biểu."


def region(start: int, end: int, label: str, text: str | None = None, rid: str = "r") -> dict:
    value = {"start": start, "end": end, "labels": [label]}
    value["text"] = TEXT[start:end] if text is None else text
    return {"id": rid, "from_name": "label", "to_name": "text", "type": "labels", "value": value}


def at(sub: str, label: str, text: str = TEXT) -> dict:
    start = text.index(sub)
    return {**region(start, start + len(sub), label), "value": {"start": start, "end": start + len(sub), "text": sub,
                                                                 "labels": [label]}}


def task(task_id: int, results: list[dict] | None, doc_id: str = "new-report", text: str = TEXT, **annotation) -> dict:
    annotations = [] if results is None else [
        {"id": task_id * 10, "result": results, "was_cancelled": False, "completed_by": 1,
         "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z", **annotation}
    ]
    return {"id": task_id, "data": {"text": text, "doc_id": doc_id}, "annotations": annotations, "predictions": []}


def write_export(tmp_path: Path, tasks: list[dict], name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_import(path: Path, corpus: Path, *extra: str) -> int:
    return antq_ner(["annotate", "import", str(path), "--annotations", str(corpus), *extra])


GOOD = [at("Đại tá", "RANK"), at("Nguyễn Văn An", "PERSON"), at("Bộ Công an", "ORG"), at("300 đại biểu", "QUANTITY")]


def test_a_label_studio_export_becomes_raw_markup_bio_and_a_documents_entry(tiny_corpus, tmp_path, capsys):
    before = (tiny_corpus / "documents.yaml").read_text(encoding="utf-8")
    assert run_import(write_export(tmp_path, [task(7, GOOD)]), tiny_corpus) == 0
    assert "imported 1 document(s)" in capsys.readouterr().out
    assert (tiny_corpus / "raw" / "new-report.txt").read_text(encoding="utf-8") == TEXT
    text, spans = parse_markup((tiny_corpus / "markup" / "new-report.txt").read_text(encoding="utf-8"))
    assert text == TEXT
    assert [(TEXT[s.start:s.end], s.label) for s in spans] == [
        ("Đại tá", "RANK"), ("Nguyễn Văn An", "PERSON"), ("Bộ Công an", "ORG"), ("300 đại biểu", "QUANTITY")]
    sentences = read_conll(tiny_corpus / "bio" / "new-report.conll")
    assert [" ".join(s.tokens[sp.start:sp.end]) for s in sentences for sp in bio_to_spans(s.tags)] == [
        "Đại tá", "Nguyễn Văn An", "Bộ Công an", "300 đại biểu"]
    documents = (tiny_corpus / "documents.yaml").read_text(encoding="utf-8")
    assert documents.startswith(before)  # comments and entries kept, the new one appended
    entries = yaml.safe_load(documents)["documents"]
    assert [e["id"] for e in entries] == ["tiny", "new-report"]
    assert "task 7" in entries[1]["source"]
    assert antq_ner(["corpus", "validate", "--annotations", str(tiny_corpus)]) == 0


def test_json_min_and_doccano_exports_import_the_same_corpus(tiny_corpus, tmp_path):
    spans = [{"start": r["value"]["start"], "end": r["value"]["end"], "text": r["value"]["text"],
              "labels": r["value"]["labels"]} for r in GOOD]
    json_min = write_export(tmp_path, [{"id": 3, "text": TEXT, "doc_id": "new-report", "label": spans,
                                        "annotator": 1, "annotation_id": 30}], "min.json")
    doccano = tmp_path / "doccano.jsonl"
    doccano.write_text(json.dumps({"id": 1, "text": TEXT, "label": [[s["start"], s["end"], s["labels"][0]] for s in spans],
                                   "meta": {"doc_id": "new-report"}}, ensure_ascii=False) + "\n", encoding="utf-8")
    (via_min,), _ = read_export(json_min)
    (via_doccano,), _ = read_export(doccano)
    (via_full,), _ = read_export(write_export(tmp_path, [task(7, GOOD)]))
    strip = [(s.start, s.end, s.label) for s in via_full.spans]
    assert [(s.start, s.end, s.label) for s in via_min.spans] == strip
    assert [(s.start, s.end, s.label) for s in via_doccano.spans] == strip
    assert via_min.doc_id == via_doccano.doc_id == via_full.doc_id == "new-report"
    assert run_import(doccano, tiny_corpus) == 0
    assert run_import(json_min, tiny_corpus) == 0  # same text and mentions: unchanged, not refused


def test_exported_tasks_read_back_as_their_predictions():
    entities = [{"type": "ORG", "start": 37, "end": 47, "text": "Bộ Công an", "score": 0.91}]
    ls = label_studio_task("d1", TEXT, entities, 0.8, "run-1234abcd")
    assert ls["predictions"][0]["model_version"] == "run-1234abcd"
    assert ls["predictions"][0]["score"] == 0.8
    (item,) = ls["predictions"][0]["result"]
    assert item["value"] == {"start": 37, "end": 47, "text": "Bộ Công an", "labels": ["ORG"]}
    assert item["score"] == 0.91 and item["from_name"] == "label" and item["to_name"] == "text"
    assert doccano_record("d1", TEXT, entities, 0.8)["label"] == [[37, 47, "ORG"]]
    config = labeling_config(("PERSON", "LOCATION"))
    assert '<Labels name="label" toName="text">' in config and '<Text name="text" value="$text"/>' in config
    assert '<Label value="LOCATION"' in config and "RANK" not in config


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ([region(0, 6, "RANK", text="Thiếu tá")], "differs from the task text"),
        ([region(0, 5, "RANK")], "cuts a token (tá)"),
        ([region(0, 6, "TITLE")], "type 'TITLE' is not in the label set"),
        ([region(0, 6, "RANK", rid="a"), region(4, 20, "PERSON", rid="b")], "overlap"),
        ([region(40, 60, "ORG")], "crosses a sentence boundary"),
        ([region(0, 500, "ORG", text="")], "offsets outside the text"),
        ([{**region(0, 6, "RANK"), "value": {"start": 0, "end": 6, "text": "Đại tá", "labels": ["RANK", "ORG"]}}],
         "exactly one type"),
    ],
)
def test_a_bad_region_names_its_task_and_nothing_is_written(tiny_corpus, tmp_path, capsys, results, message):
    before = snapshot(tiny_corpus)
    assert run_import(write_export(tmp_path, [task(1, GOOD, doc_id="fine"), task(42, results)]), tiny_corpus) == 1
    err = capsys.readouterr().err
    assert "task 42" in err and message in err and "nothing was written" in err
    assert snapshot(tiny_corpus) == before


def test_whitespace_at_an_edge_is_snapped_and_said(tiny_corpus, tmp_path, capsys):
    start = TEXT.index("Bộ Công an")
    results = [region(start - 1, start + len("Bộ Công an"), "ORG"),  # " Bộ Công an" → "Bộ Công an"
               region(TEXT.index("300"), TEXT.index("biểu") + 4, "QUANTITY")]
    assert run_import(write_export(tmp_path, [task(5, results)]), tiny_corpus) == 0
    err = capsys.readouterr().err
    assert "task 5" in err and "snapped to 'Bộ Công an'" in err
    _, spans = parse_markup((tiny_corpus / "markup" / "new-report.txt").read_text(encoding="utf-8"))
    assert [TEXT[s.start:s.end] for s in spans] == ["Bộ Công an", "300 đại biểu"]


def test_several_annotations_take_the_latest_not_cancelled(tiny_corpus, tmp_path, capsys):
    t = task(9, [at("Đại tá", "RANK")])
    t["annotations"] += [
        {"id": 91, "result": [at("Nguyễn Văn An", "PERSON")], "was_cancelled": False, "completed_by": 2,
         "updated_at": "2026-12-02T09:00:00Z"},
        {"id": 92, "result": [], "was_cancelled": True, "completed_by": 3, "updated_at": "2026-12-03T09:00:00Z"},
    ]
    assert run_import(write_export(tmp_path, [t]), tiny_corpus) == 0
    assert "task 9: 3 annotations (1 cancelled); took the latest not cancelled (annotation 91" in capsys.readouterr().err
    _, spans = parse_markup((tiny_corpus / "markup" / "new-report.txt").read_text(encoding="utf-8"))
    assert [(s.label) for s in spans] == ["PERSON"]


def test_skipped_and_unannotated_tasks_are_reported_and_left_out(tiny_corpus, tmp_path, capsys):
    skipped = task(2, [], doc_id="skipped", was_cancelled=True)
    unannotated = task(3, None, doc_id="unannotated")
    assert run_import(write_export(tmp_path, [skipped, unannotated, task(4, GOOD)]), tiny_corpus) == 0
    err = capsys.readouterr().err
    assert "task 2: skipped by the annotator" in err and "task 3: no annotation" in err
    assert not (tiny_corpus / "raw" / "skipped.txt").exists() and not (tiny_corpus / "raw" / "unannotated.txt").exists()
    assert (tiny_corpus / "raw" / "new-report.txt").is_file()


def test_an_annotation_with_no_mention_is_a_document_with_no_mention(tiny_corpus, tmp_path):
    assert run_import(write_export(tmp_path, [task(4, [])]), tiny_corpus) == 0
    assert all(set(s.tags) == {"O"} for s in read_conll(tiny_corpus / "bio" / "new-report.conll"))


def test_a_document_already_in_the_corpus_is_refused_unless_replace(tiny_corpus, tmp_path, capsys):
    assert run_import(write_export(tmp_path, [task(1, GOOD)]), tiny_corpus) == 0
    changed = write_export(tmp_path, [task(1, GOOD[:2])], "changed.json")
    before = snapshot(tiny_corpus)
    assert run_import(changed, tiny_corpus) == 1
    assert "already in" in capsys.readouterr().err and snapshot(tiny_corpus) == before
    assert run_import(changed, tiny_corpus, "--replace") == 0
    assert "replaced (other mentions)" in capsys.readouterr().err
    _, spans = parse_markup((tiny_corpus / "markup" / "new-report.txt").read_text(encoding="utf-8"))
    assert len(spans) == 2
    assert [e["id"] for e in yaml.safe_load((tiny_corpus / "documents.yaml").read_text())["documents"]] == ["tiny", "new-report"]
    # the fixture's own report, with other text, is refused the same way
    assert run_import(write_export(tmp_path, [task(2, [], doc_id="tiny")], "tiny.json"), tiny_corpus) == 1
    assert "'tiny' is already in" in capsys.readouterr().err


def test_two_tasks_with_one_document_id_are_refused(tiny_corpus, tmp_path, capsys):
    assert run_import(write_export(tmp_path, [task(1, GOOD), task(2, GOOD)]), tiny_corpus) == 1
    assert "task 2: document id 'new-report' is also" in capsys.readouterr().err


def test_nfd_text_is_cleaned_as_predict_reads_it_and_its_spans_follow(tiny_corpus, tmp_path, capsys):
    nfd = unicodedata.normalize("NFD", TEXT).replace("B", "B\u00ad")  # NFD and a soft hyphen
    start, end = nfd.index(unicodedata.normalize("NFD", "Nguyễn")), nfd.index(unicodedata.normalize("NFD", " dự"))
    results = [{"id": "p", "from_name": "label", "to_name": "text", "type": "labels",
                "value": {"start": start, "end": end, "text": nfd[start:end], "labels": ["PERSON"]}}]
    assert run_import(write_export(tmp_path, [task(6, results, text=nfd)]), tiny_corpus) == 0
    assert "task 6: text cleaned" in capsys.readouterr().err
    raw = (tiny_corpus / "raw" / "new-report.txt").read_text(encoding="utf-8")
    assert raw == TEXT
    _, spans = parse_markup((tiny_corpus / "markup" / "new-report.txt").read_text(encoding="utf-8"))
    assert [raw[s.start:s.end] for s in spans] == ["Nguyễn Văn An"]
    assert antq_ner(["corpus", "validate", "--annotations", str(tiny_corpus)]) == 0


def test_a_corpus_that_does_not_build_is_not_touched(tiny_corpus, tmp_path):
    (tiny_corpus / "markup" / "tiny.txt").write_text("[broken", encoding="utf-8")
    before = snapshot(tiny_corpus)
    with pytest.raises(ImportRefused, match="does not build"):
        import_tasks(read_export(write_export(tmp_path, [task(1, GOOD)]))[0], tiny_corpus, ENTITY_TYPES)
    assert snapshot(tiny_corpus) == before


def test_a_new_corpus_folder_is_created(tmp_path):
    corpus = tmp_path / "mine"
    result = import_tasks(read_export(write_export(tmp_path, [task(1, GOOD)]))[0], corpus, ENTITY_TYPES)
    assert result.written == ["new-report"] and result.problems == []
    assert yaml.safe_load((corpus / "documents.yaml").read_text())["documents"][0]["id"] == "new-report"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"id": 1, "data": {"txt": "x"}, "annotations": []}]', "no text in data.text"),
        ('[{"id": 1, "data": {"text": "x", "doc_id": "../evil"}, "annotations": [{"result": []}]}]', "cannot be a file name"),
        ("[1, 2", "malformed JSON"),
        ('{"text": "x", "label": [[0, 1]]}\n', "is not [start, end, TYPE]"),
        ('{"text": "x"}\n', 'no "doc_id" or "id"'),
    ],
)
def test_an_unreadable_export_is_named(tmp_path, content, message):
    path = tmp_path / "export.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ExportError, match=message.replace("[", r"\[").replace(".", r"\.")):
        read_export(path)


def test_files_of_an_interrupted_import_are_listed_when_it_runs_again(tiny_corpus, tmp_path):
    export = write_export(tmp_path, [task(1, GOOD)])
    assert run_import(export, tiny_corpus) == 0
    documents = tiny_corpus / "documents.yaml"
    entries = yaml.safe_load(documents.read_text())["documents"]
    documents.write_text(yaml.safe_dump({"documents": entries[:1]}), encoding="utf-8")  # stopped before this file
    assert run_import(export, tiny_corpus) == 0
    assert [e["id"] for e in yaml.safe_load(documents.read_text())["documents"]] == ["tiny", "new-report"]
