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
