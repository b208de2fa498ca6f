"""The README's main job at full size: train the offline model, then evaluate it (about 40 s)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.slow
def test_main_job_trains_and_evaluates_offline(tmp_path):
    run = [sys.executable, "train.py", "--config", "configs/offline.yaml", "--set", f"output_dir={tmp_path}"]
    subprocess.run(run, cwd=REPO, check=True, capture_output=True)
    model = tmp_path / "offline"
    metrics = json.loads((model / "metrics.json").read_text())
    assert len(metrics["dev_per_epoch"]) == 30
    out = subprocess.run([sys.executable, "evaluate.py", "--model", str(model)], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    assert "CRF (sklearn-crfsuite)" in out and "underthesea" in out
    evaluation = json.loads((model / "eval" / "test" / "metrics.json").read_text())
    assert evaluation["articles"] == ["bac-lieu-2023-05-31"]
    for name in ("predictions.conll", "report.md", "per_type_f1.png", "confusion.png"):
        assert (model / "eval" / "test" / name).stat().st_size > 0
