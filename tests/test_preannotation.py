"""The pre-annotation loop of annotations/README.md, end to end on one of the team's reports:
predict → markup → correct → build → validate → retrain with the new report as training data."""

from __future__ import annotations

import json
import shutil

import yaml
from conftest import ANNOTATIONS, REPO, tiny_config_overrides

from antq_ner.cli import main as antq_ner
from antq_ner.cli import predict_main as predict
from antq_ner.config import load_config
from antq_ner.markup import parse_markup
from antq_ner.training import train

DOC = "syn-pccc-02"


def test_predict_correct_build_validate_retrain(tiny_checkpoint, tmp_path, capsys):
    root = tmp_path / "mine"
    for folder in ("raw", "markup"):
        (root / folder).mkdir(parents=True)
    raw = (ANNOTATIONS / "synthetic" / "raw" / f"{DOC}.txt").read_text(encoding="utf-8")
    (root / "raw" / f"{DOC}.txt").write_text(raw, encoding="utf-8")
    (root / "documents.yaml").write_text(yaml.safe_dump({"documents": [{"id": DOC, "topic": "fire"}]}), "utf-8")

    # 1. Pre-annotate: the predicted markup is the report's text with brackets added.
    predicted = root / "markup" / f"{DOC}.txt"
    assert predict(["--model", str(tiny_checkpoint), str(root / "raw" / f"{DOC}.txt"), "--format", "markup",
                    "-o", str(predicted)]) == 0
    assert parse_markup(predicted.read_text(encoding="utf-8"))[0] == raw

    # 2. A person corrects it (here: the team's own annotation), then builds and validates.
    shutil.copy(ANNOTATIONS / "synthetic" / "markup" / f"{DOC}.txt", predicted)
    assert antq_ner(["corpus", "build", "--annotations", str(root)]) == 0
    assert antq_ner(["corpus", "validate", "--annotations", str(root)]) == 0
    assert "valid" in capsys.readouterr().out
    assert (root / "bio" / f"{DOC}.conll").read_bytes() == (ANNOTATIONS / "synthetic" / "bio" / f"{DOC}.conll").read_bytes()

    # 3. Retrain with the corrected report added to the training data.
    overrides = tiny_config_overrides(tmp_path / "models", "retrained") + [f"data.extra_train_dir={root / 'bio'}"]
    metrics = train(load_config(REPO / "configs" / "scratch.yaml", overrides))
    assert metrics["sentences"]["train"] == 6 + 14
    assert json.loads((tmp_path / "models" / "retrained" / "metrics.json").read_text())["best_epoch"] >= 1
