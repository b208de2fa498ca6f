"""The README's main job at full size: fine-tune the bundled pre-trained encoder, then evaluate it
(about 5 minutes on 2 CPU cores)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, most_probable_entities


@pytest.mark.slow
@pytest.mark.integration
def test_main_job_fine_tunes_the_bundled_encoder_and_evaluates(tmp_path):
    run = [sys.executable, "train.py", "--config", "configs/offline.yaml", "--set", f"output_dir={tmp_path}"]
    subprocess.run(run, cwd=REPO, check=True, capture_output=True)
    model = tmp_path / "offline"
    resolved = yaml.safe_load((model / "training_config.yaml").read_text())
    assert resolved["model"]["name_or_path"] == "bundled:multilingual-e5-small"
    assert json.loads((model / "config.json").read_text())["model_type"] == "bert"
    metrics = json.loads((model / "metrics.json").read_text())
    assert len(metrics["dev_per_epoch"]) == resolved["training"]["epochs"]
    out = subprocess.run([sys.executable, "evaluate.py", "--model", str(model)], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    assert "CRF (sklearn-crfsuite)" in out and "underthesea" in out
    evaluation = json.loads((model / "eval" / "test" / "metrics.json").read_text())
    assert evaluation["articles"] == ["bac-lieu-2023-05-31"]
    # Far below the measured figure (README), far above what an untrained or broken model scores.
    assert evaluation["strict"]["overall"]["f1"] > 0.5
    for name in ("predictions.conll", "report.md", "per_type_f1.png", "confusion.png"):
        assert (model / "eval" / "test" / name).stat().st_size > 0
    # The model card's pipeline route reads the checkpoint as it was trained: its entities are exactly
    # those of the encoder's most probable label per syllable (repaired as conlleval reads it). Against
    # predict.py's best valid sequence they differ by checkpoint (docs/inference.md).
    from transformers import pipeline

    from antq_ner.hf_pipeline import pipeline_entities
    from antq_ner.inference import Tagger

    encoder = Tagger.from_pretrained(model)
    ner = pipeline("token-classification", model=str(model))
    entities = 0
    for path in sorted((REPO / "annotations" / "raw").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        expected = most_probable_entities(encoder, text)
        got = {(e["start"], e["end"], e["type"]) for e in pipeline_entities(ner, text)}
        assert got == expected, (path.name, sorted(expected ^ got)[:5])
        entities += len(got)
    assert entities > 300  # the five reports hold 352 gold mentions
    assert "pipeline_entities" in (model / "README.md").read_text(encoding="utf-8")
