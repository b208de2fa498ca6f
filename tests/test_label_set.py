"""Any label set, from one place: a sixth type (LOCATION) through train → evaluate → predict →
annotate export and import, with the label set coming from the config and then the checkpoint."""

from __future__ import annotations

import json

import pytest
from conftest import ANNOTATIONS, REPO, tiny_config_overrides

from antq_ner.bio import Span, bio_to_spans, read_conll, spans_to_bio, write_conll
from antq_ner.cli import main as antq_ner
from antq_ner.cli import predict_main
from antq_ner.config import ConfigError, load_config
from antq_ner.evaluation import evaluate_run
from antq_ner.training import train

TYPES = ["PERSON", "RANK", "ORG", "PROGRAM", "QUANTITY", "LOCATION"]


def six_type_corpus(folder):
    """The five articles with every other QUANTITY mention re-typed LOCATION (both types in every part)."""
    folder.mkdir()
    for path in sorted((ANNOTATIONS / "bio").glob("*.conll")):
        sentences, k = [], 0
        for s in read_conll(path):
            spans = []
            for sp in bio_to_spans(s.tags):
                if sp.label == "QUANTITY":
                    k += 1
                    sp = Span(sp.start, sp.end, "LOCATION" if k % 2 else "QUANTITY")
                spans.append(sp)
            sentences.append(s.__class__(s.doc_id, s.sent_id, s.text, s.tokens, tuple(spans_to_bio(len(s.tokens), spans))))
        write_conll(folder / path.name, sentences)
    return folder


@pytest.mark.integration
def test_a_sixth_type_goes_through_every_command(tmp_path, capsys):
    bio = six_type_corpus(tmp_path / "bio")
    overrides = [*tiny_config_overrides(tmp_path / "models", "six"), f"data.bio_dir={bio}",
                 f"data.labels=[{', '.join(TYPES)}]", "data.max_sentences=20"]
    train(load_config(REPO / "configs" / "scratch.yaml", overrides))
    model = tmp_path / "models" / "six"
    id2label = json.loads((model / "config.json").read_text())["id2label"]
    assert len(id2label) == 13 and {"B-LOCATION", "I-LOCATION"} <= set(id2label.values())
    assert "6 entity types" in (model / "README.md").read_text()

    result = evaluate_run(model, "test", baselines=False)
    assert result.metrics["strict"]["per_type"]["LOCATION"]["support"] > 0

    report = tmp_path / "report.txt"
    report.write_text((ANNOTATIONS / "raw" / "bac-lieu-2023-05-31.txt").read_text(encoding="utf-8"), encoding="utf-8")
    assert predict_main(["--model", str(model), str(report), "-o", str(tmp_path / "out.jsonl")]) == 0
    entities = json.loads((tmp_path / "out.jsonl").read_text())["entities"]
    assert entities and {e["type"] for e in entities} <= set(TYPES)

    tasks = tmp_path / "tasks.json"
    assert antq_ner(["annotate", "export", "--model", str(model), str(report), "-o", str(tasks)]) == 0
    assert '<Label value="LOCATION"' in (tmp_path / "tasks.label_config.xml").read_text()
    task = json.loads(tasks.read_text())[0]
    text = task["data"]["text"]
    start = text.index("Bạc Liêu")
    task["annotations"] = [{"id": 1, "result": [{"id": "l", "from_name": "label", "to_name": "text", "type": "labels",
                                                  "value": {"start": start, "end": start + 8, "text": "Bạc Liêu",
                                                            "labels": ["LOCATION"]}}]}]
    export = tmp_path / "export.json"
    export.write_text(json.dumps([task], ensure_ascii=False), encoding="utf-8")
    corpus = tmp_path / "mine"
    assert antq_ner(["annotate", "import", str(export), "--annotations", str(corpus)]) == 1  # the default five
    assert "type 'LOCATION' is not in the label set" in capsys.readouterr().err
    assert antq_ner(["annotate", "import", str(export), "--annotations", str(corpus), "--model", str(model)]) == 0
    capsys.readouterr()
    assert antq_ner(["corpus", "stats", "--annotations", str(corpus)]) == 0  # without --labels: counted all the same
    header, _, row, *_ = capsys.readouterr().out.splitlines()
    assert header.split(" | ")[-1].strip(" |") == "LOCATION" and row.split(" | ")[-1].strip(" |") == "1"


@pytest.mark.parametrize(
    ("labels", "message"),
    [("[]", "the list is empty"), ("[PERSON, ORG, PERSON]", "PERSON given more than once"), ("[B-ORG]", "cannot be a type")],
)
def test_a_label_set_that_cannot_be_learnt_is_refused(labels, message):
    with pytest.raises(ConfigError, match=message):
        load_config(REPO / "configs" / "offline.yaml", [f"data.labels={labels}"])


def test_a_misspelt_type_in_the_config_is_named_as_such(tmp_path):
    overrides = [*tiny_config_overrides(tmp_path, "typo"), "data.labels=[PERSON, RNAK, ORG, PROGRAM, QUANTITY]"]
    with pytest.raises(ConfigError, match="data.labels has 'RNAK': is that a misspelling of 'RANK'"):
        train(load_config(REPO / "configs" / "scratch.yaml", overrides))


def test_a_zero_shot_baseline_is_scored_on_the_types_it_shares_and_is_na_without_any():
    from conftest import FIXTURES

    from antq_ner.baselines import UNDERTHESEA_NAME
    from antq_ner.evaluation import run_baselines

    sentences = read_conll(FIXTURES / "corpus" / "bio" / "tiny.conll")
    systems, skipped = run_baselines(sentences, sentences, types=("RANK", "QUANTITY"))
    assert UNDERTHESEA_NAME not in systems and skipped[UNDERTHESEA_NAME].startswith("n/a")
    systems, _ = run_baselines(sentences, sentences, types=("PERSON", "RANK"))
    assert systems[UNDERTHESEA_NAME].types == ("PERSON",)
