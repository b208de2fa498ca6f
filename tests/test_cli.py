"""`antq-ner <command>` passes every option through to the command's own parser."""

from __future__ import annotations

import pytest

from antq_ner.cli import main


def test_subcommand_options_reach_their_parser(capsys):
    assert main(["train", "--config", "no/such.yaml"]) == 2
    assert "config file no/such.yaml not found" in capsys.readouterr().err
    for command in ("train", "evaluate", "predict"):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        assert "--model" in capsys.readouterr().out or command == "train"


def test_predict_through_the_umbrella_command(tiny_checkpoint, tmp_path, capsys):
    text = tmp_path / "a.txt"
    text.write_text("Bộ trưởng Tô Lâm dự hội nghị.", encoding="utf-8")
    assert main(["predict", "--model", str(tiny_checkpoint), str(text)]) == 0
    assert '"entities"' in capsys.readouterr().out


def test_backbone_command_converts_the_bundled_weights(tmp_path, capsys):
    out = tmp_path / "e5"
    assert main(["backbone", "multilingual-e5-small", "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert {"config.json", "model.safetensors", "tokenizer.json", "backbone.json"} <= {p.name for p in out.iterdir()}
    assert main(["backbone", "no-such-model"]) == 1
    assert "unknown bundled backbone 'no-such-model'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cv", "--config", "configs/offline.yaml", "--folds", ",,"], "names no fold"),
        (["--cv", "--config", "configs/offline.yaml", "--folds", ""], "names no fold"),
        (["--cv", "--config", "configs/offline.yaml", "--split", "dev"], "--split goes with --model"),
    ],
)
def test_evaluate_refuses_options_it_would_ignore(argv, message, capsys):
    """`--folds ,,` ran all five folds (23 minutes) and `--cv --split dev` scored the test articles."""
    from antq_ner.cli import evaluate_main

    with pytest.raises(SystemExit) as stopped:
        evaluate_main(argv)
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_a_set_value_that_is_not_yaml_is_one_line(capsys):
    from antq_ner.cli import train_main

    assert train_main(["--config", "configs/offline.yaml", "--set", "data.labels=[PERSON"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --set 'data.labels=[PERSON': the value is not valid YAML") and "Traceback" not in err


def test_ctrl_c_is_one_line_and_leaves_the_output_alone(tiny_checkpoint, tmp_path):
    import json
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    inputs = tmp_path / "many.jsonl"
    inputs.write_text("".join(json.dumps({"id": k, "text": "Bộ Công an tổ chức hội nghị. " * 20}) + "\n"
                              for k in range(20_000)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text("what was there before\n", encoding="utf-8")
    # As from a terminal. A suite started in the background (`… &` in a script) ignores SIGINT, a child
    # inherits that, and Python then installs no Ctrl-C handler. A caught signal is reset on exec.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen([sys.executable, str(Path(__file__).parents[1] / "predict.py"), "--model",
                                    str(tiny_checkpoint), str(inputs), "-o", str(out)], stderr=subprocess.PIPE,
                                   text=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"})  # SIGABRT: every stack
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.jsonl.*")) and time.monotonic() < deadline:  # writing has begun
        assert process.poll() is None, "finished before it could be interrupted"
        time.sleep(0.2)
    assert process.poll() is None, "finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        pytest.fail(f"still running 60 s after Ctrl-C; where it was:\n{process.communicate()[1][-6000:]}")
    assert process.returncode == 130
    assert "Traceback" not in err and err.strip().endswith("interrupted; no output file was left half-written"), err
    assert out.read_text(encoding="utf-8") == "what was there before\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
