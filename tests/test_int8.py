"""--precision int8: the ONNX export, which products are int8 and how, and the errors it can give."""

from __future__ import annotations

import logging
import sys
from collections import Counter

import numpy as np
import pytest

from antq_ner.inference import Tagger

onnx = pytest.importorskip("onnx", reason="the int8 extra (onnx, onnxruntime) is not installed")
pytest.importorskip("onnxruntime")

from antq_ner.int8 import OnnxTokenClassifier, export_onnx, ffn_output_products, quantize_onnx


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(tiny_checkpoint)
    path = tmp_path_factory.mktemp("int8") / "model.onnx"
    export_onnx(model, path)
    return model, path


def test_the_recipe_fp32_graph_to_int8(exported, tmp_path):
    model, path = exported
    layers = model.config.num_hidden_layers
    graph = onnx.load(str(path)).graph
    ffn_out = ffn_output_products(graph)
    assert len(ffn_out) == layers
    weighted = sum(1 for n in graph.node if n.op_type == "MatMul" and n.input[1] in {i.name for i in graph.initializer})
    assert weighted == 6 * layers + 1  # q, k, v, attention output, FFN in, FFN out; the classifier

    quantize_onnx(path, tmp_path / "int8.onnx", layers)
    ops = Counter(n.op_type for n in onnx.load(str(tmp_path / "int8.onnx")).graph.node)
    # FFN outputs block-wise (MatMulNBits); every other weighted product dynamic int8
    assert ops["MatMulNBits"] == layers
    assert ops["DynamicQuantizeMatMul"] + ops["MatMulInteger"] == 5 * layers + 1
    # left in fp32: only the attention's two activation × activation products per layer
    assert ops["MatMul"] == 2 * layers

    with pytest.raises(ValueError, match="FFN output projection.*found 2.*use --precision bf16"):
        quantize_onnx(path, tmp_path / "other.onnx", layers + 1)


def test_int8_tagger_follows_fp32(tiny_checkpoint):
    fp32 = Tagger.from_pretrained(tiny_checkpoint)
    handlers, level = logging.root.handlers[:], logging.root.level
    int8 = Tagger.from_pretrained(tiny_checkpoint, precision="int8")
    assert (logging.root.handlers, logging.root.level) == (handlers, level)  # ONNX Runtime's basicConfig undone
    assert isinstance(int8.model, OnnxTokenClassifier)
    # shapes the export never saw: one sentence of one syllable, a batch of one, a long windowed one
    sentences = [["a"], ["Bộ", "Công", "an", "tỉnh", "Thái", "Bình"], ["Công", "an", "xã"] * 120]
    for reference, quantised in zip(fp32.word_distributions(sentences), int8.word_distributions(sentences)):
        assert reference[1] == quantised[1]
        assert np.abs(reference[0] - quantised[0]).max() < 0.05
    assert [t.tags for t in int8.tag(sentences[:1])] == [[fp32.tag(sentences[:1])[0].tags[0]]]


def test_int8_errors_name_the_fix(tiny_checkpoint, monkeypatch):
    with pytest.raises(ValueError, match="runs on the CPU.*use bf16"):
        Tagger.from_pretrained(tiny_checkpoint, precision="int8", device="cuda")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ValueError, match=r"ONNX Runtime.*pip install 'antq-ner\[int8\]'"):
        Tagger.from_pretrained(tiny_checkpoint, precision="int8")


def test_predict_int8_writes_only_its_output(tiny_checkpoint, tmp_path):
    """In a fresh interpreter (the quantisers' logging set-up happens once, at import): standard
    output is the JSONL alone, standard error has no exporter or quantiser chatter."""
    import json
    import subprocess

    from conftest import ANNOTATIONS, REPO

    report = ANNOTATIONS / "raw" / "bac-lieu-2023-05-31.txt"
    proc = subprocess.run([sys.executable, str(REPO / "predict.py"), "--model", str(tiny_checkpoint),
                           "--precision", "int8", str(report)], capture_output=True, text=True, cwd=tmp_path,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    (row,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert row["id"] == str(report)
    assert "INFO" not in proc.stderr and "WARNING" not in proc.stderr and "torch.onnx" not in proc.stderr, proc.stderr


def test_int8_made_once_into_the_checkpoint(tiny_checkpoint, tmp_path, capsys):
    """`--precision int8` exported and quantised at every load (12-20 s): `antq-ner export` makes it
    once, Optimum's layout, and a load then reads it; weights trained again make it stale, named."""
    import shutil

    from antq_ner.cli import main as antq_ner
    from antq_ner.int8 import ONNX_DIR

    model = tmp_path / "model"
    shutil.copytree(tiny_checkpoint, model)
    assert antq_ner(["export", "--precision", "int8", str(model)]) == 0
    assert sorted(p.name for p in (model / ONNX_DIR).iterdir()) == ["export.json", "model.onnx", "model_quantized.onnx"]
    assert not [p for p in model.iterdir() if p.name.startswith(".onnx-")]
    sentences = [["Bộ", "Công", "an", "tổ", "chức", "hội", "nghị", "."], ["Đại", "tá", "Nguyễn", "Văn", "An"]]
    made_now = Tagger.from_pretrained(tiny_checkpoint, precision="int8")
    made_once = Tagger.from_pretrained(model, precision="int8")
    assert isinstance(made_once.model, OnnxTokenClassifier)
    a, b = made_now.word_distributions(sentences), made_once.word_distributions(sentences)
    assert all(np.allclose(x[0], y[0], atol=1e-5) for x, y in zip(a, b))  # the same int8 model
    assert Tagger.from_pretrained(model).tag(sentences)  # fp32 ignores it
    weights = model / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # other weights (a run trained again)
    with pytest.raises(ValueError, match="made from other weights"):
        Tagger.from_pretrained(model, precision="int8")
    assert antq_ner(["export", "--precision", "int8", str(tmp_path / "none")]) == 1
    assert "no model.safetensors" in capsys.readouterr().err
