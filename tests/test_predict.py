"""predict.py: reading inputs, offsets into the original text, batching, formats and bad inputs."""

from __future__ import annotations

import io
import json
import os
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import ANNOTATIONS

from antq_ner.bio import check_bio, read_conll
from antq_ner.cli import predict_main as main
from antq_ner.documents import (
    InputDocument,
    InputError,
    entities,
    format_markup,
    iter_predictions,
    predict_documents,
    read_inputs,
    split_markup_output,
)
from antq_ner.inference import TaggedSentence, Tagger, plan_batches
from antq_ner.markup import parse_markup
from antq_ner.text import split_sentences, tokenize

RAW = ANNOTATIONS / "raw"
# NFD letters, non-breaking spaces, a tab, Windows line ends, a blank line and trailing spaces.
MESSY = unicodedata.normalize(
    "NFD",
    "Đại tá Nguyễn Văn Hùng,\u00a0Giám đốc Công an tỉnh Thái\u00a0Bình,\tchủ trì hội nghị.\r\n"
    "\r\nBộ Công an triển khai Chỉ thị số 07 với 12 xã, phường.  \r\nThượng tá Lê Thị Hoà\t(Phó Giám đốc).",
)


class EverythingTagger:
    """A stand-in tagger that makes entities of every token pattern: B, I, O, B, I, B (valid IOB2,
    as the Tagger's decoding guarantees)."""

    def tag(self, sentences):
        cycle = ["B-ORG", "I-ORG", "O", "B-RANK", "I-RANK", "B-PERSON"]
        return [TaggedSentence([cycle[i % 6] for i in range(len(s))], [0.5] * len(s)) for s in sentences]


@pytest.fixture(scope="module")
def tagger(tiny_checkpoint: Path) -> Tagger:
    return Tagger.from_pretrained(tiny_checkpoint, batch_size=32)


def _reports() -> list[InputDocument]:
    return list(read_inputs([str(RAW)]))


def _check_offsets(preds) -> int:
    n = 0
    for pred in preds:
        for e in pred.entities:
            assert pred.document.text[e["start"] : e["end"]] == e["text"]
            assert e["text"] == e["text"].strip() and "\n" not in e["text"] and "\r" not in e["text"]
            assert 0.0 <= e["score"] <= 1.0
            n += 1
    return n


def test_offsets_on_the_reports(tagger):
    docs = _reports()
    assert [Path(d.id).name for d in docs] == sorted(p.name for p in RAW.glob("*.txt"))
    assert _check_offsets(predict_documents(tagger, docs)) > 0  # the real tagger predicts entities
    assert _check_offsets(predict_documents(EverythingTagger(), docs)) > 1000


def test_offsets_on_messy_text(tagger):
    doc = InputDocument("messy", MESSY, "-")
    for t in (tagger, EverythingTagger()):
        (pred,) = predict_documents(t, [doc])
        _check_offsets([pred])
        assert sum(len(s) for s in pred.sentences) == len(tokenize(MESSY))
    (pred,) = predict_documents(EverythingTagger(), [doc])
    first = pred.entities[0]
    assert (first["type"], first["text"]) == ("ORG", MESSY[: first["end"]])
    # Every type of the cycle comes out as entities.
    assert {"ORG", "RANK", "PERSON"} <= {e["type"] for e in pred.entities}


def test_entities_uses_token_offsets_and_mean_score():
    text = "Ông  Tô\u00a0Lâm nói"
    (sentence,) = split_sentences(text)
    out = entities(text, [sentence], [["O", "B-PERSON", "I-PERSON", "O"]], [[0.1, 0.2, 0.30001, 0.9]])
    assert out == [{"type": "PERSON", "start": 5, "end": 11, "text": "Tô\u00a0Lâm", "score": 0.25}]


def test_batched_equals_one_by_one(tiny_checkpoint, tagger):
    docs = [d for d in _reports() if "ninh-binh" in d.id or "bac-lieu" in d.id] + [InputDocument("messy", MESSY, "-")]
    one = predict_documents(Tagger.from_pretrained(tiny_checkpoint, batch_size=1), docs)
    many = predict_documents(tagger, docs)  # batch size 32, all documents' sentences together
    single = [p for d in docs for p in predict_documents(tagger, [d])]  # one document at a time
    for a, b, c in zip(one, many, single):
        assert a.tags == b.tags == c.tags
        for x, y in zip(a.scores, b.scores):
            assert x == pytest.approx(y, abs=1e-4)
        key = [(e["type"], e["start"], e["end"]) for e in a.entities]
        assert key == [(e["type"], e["start"], e["end"]) for e in b.entities] == [
            (e["type"], e["start"], e["end"]) for e in c.entities
        ]


def test_plan_batches():
    lengths = [5, 150, 140, 60, 6, 7, 100, 5]
    batches = plan_batches(lengths, batch_size=3, max_padding=0.1)
    assert sorted(i for b in batches for i in b) == list(range(8))
    assert batches == [[1, 2], [6], [3], [5, 4], [0, 7]]
    assert plan_batches(lengths, 3, float("inf")) == [[1, 2, 6], [3, 5, 4], [0, 7]]
    assert plan_batches([], 4) == []


def _run(args, capsys=None) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    if capsys is None:
        return code, "", ""
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_stdin_text(tiny_checkpoint, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stdin", io.StringIO(MESSY))
    out = tmp_path / "out.jsonl"
    assert _run(["--model", tiny_checkpoint, "-", "--output", out])[0] == 0
    (row,) = _jsonl(out.read_text(encoding="utf-8"))
    assert row["id"] == "-"
    for e in row["entities"]:
        assert MESSY[e["start"] : e["end"]] == e["text"]


def test_stdin_bytes_keep_crlf(tiny_checkpoint, monkeypatch, capsys):
    # A real stdin: bytes are decoded without newline translation, so offsets match the input.
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MESSY.encode("utf-8"))))
    code, out, _ = _run(["--model", tiny_checkpoint, "-", "--format", "markup"], capsys)
    assert code == 0
    assert parse_markup(out)[0] == MESSY


def test_directories_recursive_and_jsonl(tiny_checkpoint, tmp_path, capsys):
    (tmp_path / "in" / "b" / "c").mkdir(parents=True)
    (tmp_path / "in" / "b" / "c" / "z.txt").write_text("Bộ Công an.", encoding="utf-8")
    (tmp_path / "in" / "a.txt").write_text("UBND tỉnh Thái Bình.", encoding="utf-8")
    (tmp_path / "in" / "notes.md").write_text("not read", encoding="utf-8")
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text(
        json.dumps({"id": "x", "text": MESSY}) + "\n\n" + json.dumps({"id": 7, "text": "Công an tỉnh."}) + "\n"
        + json.dumps({"text": "Đại tá Lê Văn A."}) + "\n",
        encoding="utf-8",
    )
    code, out, _ = _run(["--model", tiny_checkpoint, tmp_path / "in", jsonl], capsys)
    assert code == 0
    rows = _jsonl(out)
    assert [r["id"] for r in rows] == [
        str(tmp_path / "in" / "a.txt"), str(tmp_path / "in" / "b" / "c" / "z.txt"), "x", "7", f"{jsonl}:4",
    ]
    for e in rows[2]["entities"]:
        assert MESSY[e["start"] : e["end"]] == e["text"]


def test_empty_documents(tiny_checkpoint, tmp_path, capsys):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text(" \r\n\n\t", encoding="utf-8")
    jsonl = tmp_path / "e.jsonl"
    jsonl.write_text('{"id": "e", "text": ""}\n', encoding="utf-8")
    code, out, _ = _run(["--model", tiny_checkpoint, tmp_path / "empty.txt", tmp_path / "blank.txt", jsonl], capsys)
    assert code == 0
    assert [r["entities"] for r in _jsonl(out)] == [[], [], []]


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    bad_utf8 = tmp_path / "latin1.txt"
    bad_utf8.write_bytes("Công an\ntỉnh\n".encode() + "Hà Nam".encode("latin-1"))
    malformed = tmp_path / "malformed.jsonl"
    malformed.write_text('{"id": "a", "text": "Bộ Công an"}\n{"id": "b", "text": \n', encoding="utf-8")
    no_text = tmp_path / "no_text.jsonl"
    no_text.write_text('{"id": "a", "body": "Bộ Công an"}\n', encoding="utf-8")
    not_string = tmp_path / "not_string.jsonl"
    not_string.write_text('\n{"id": "a", "text": ["Bộ"]}\n', encoding="utf-8")
    bad_json_utf8 = tmp_path / "bad_utf8.jsonl"
    bad_json_utf8.write_bytes(b'{"id": "a", "text": "ok"}\n{"id": "b", "text": "\xff"}\n')
    return {
        "missing": (tmp_path / "nope.txt", f"{tmp_path / 'nope.txt'}: no such file"),
        "utf8": (bad_utf8, f"{bad_utf8}:3: invalid UTF-8"),
        "malformed": (malformed, f"{malformed}:2: malformed JSON"),
        "no_text": (no_text, f"{no_text}:1: no \"text\" field"),
        "not_string": (not_string, f"{not_string}:2: \"text\" must be a string"),
        "jsonl_utf8": (bad_json_utf8, f"{bad_json_utf8}:2: invalid UTF-8"),
    }


@pytest.mark.parametrize("case", ["missing", "utf8", "malformed", "no_text", "not_string", "jsonl_utf8"])
@pytest.mark.parametrize("existing", [False, True])
def test_bad_input_exits_1_and_writes_nothing(tiny_checkpoint, tmp_path, capsys, case, existing):
    bad, message = _bad_inputs(tmp_path)[case]
    good = tmp_path / "good.txt"
    good.write_text("Bộ Công an.", encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "pred.jsonl"
    if existing:
        out.write_text("old content\n", encoding="utf-8")
    code, stdout, err = _run(["--model", tiny_checkpoint, good, bad, "--output", out], capsys)
    assert code == 1
    assert message in err
    assert stdout == ""
    assert sorted(p.name for p in out_dir.iterdir()) == (["pred.jsonl"] if existing else [])
    if existing:
        assert out.read_text(encoding="utf-8") == "old content\n"
    # Nothing on stdout either without --output.
    code, stdout, _ = _run(["--model", tiny_checkpoint, good, bad], capsys)
    assert (code, stdout) == (1, "")


def test_read_inputs_raises_or_reports(tmp_path):
    bad = _bad_inputs(tmp_path)
    with pytest.raises(InputError, match="malformed.jsonl:2:"):
        list(read_inputs([str(bad["malformed"][0])]))
    seen = []
    docs = list(read_inputs([str(p) for p, _ in bad.values()], on_error=seen.append))
    assert [d.id for d in docs] == ["a"]  # the good line of malformed.jsonl
    assert len(seen) == 7  # the six, and bad_utf8.jsonl's good line, whose id "a" is taken
    assert f"{bad['jsonl_utf8'][0]}:1: id 'a' already used by {bad['malformed'][0]}:1" in str(seen[-2])


def test_skip_errors_writes_the_good_ones(tiny_checkpoint, tmp_path, capsys):
    bad = _bad_inputs(tmp_path)
    good = tmp_path / "good.txt"
    good.write_text("Bộ Công an.", encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    args = ["--model", tiny_checkpoint, "--skip-errors", "--output", out, bad["missing"][0], good,
            bad["malformed"][0], bad["no_text"][0]]
    code, _, err = _run(args, capsys)
    assert code == 0
    assert [r["id"] for r in _jsonl(out.read_text(encoding="utf-8"))] == [str(good), "a"]
    for _, message in (bad["missing"], bad["malformed"], bad["no_text"]):
        assert message in err
    assert "skipped 3 bad document(s)" in err


def test_conll_format_rereads(tiny_checkpoint, tmp_path):
    out = tmp_path / "pred.conll"
    reports = sorted(RAW.glob("*.txt"))
    assert _run(["--model", tiny_checkpoint, "--format", "conll", "--output", out, *reports])[0] == 0
    sentences = read_conll(out)
    for path in reports:
        text = path.read_text(encoding="utf-8")
        mine = [s for s in sentences if s.doc_id == path.stem]  # the corpus's name for the report, not the path
        assert [s.sent_id for s in mine] == [f"{path.stem}-{k:03d}" for k in range(1, len(mine) + 1)]
        assert [t for s in mine for t in s.tokens] == [t.text for t in tokenize(text)]
        assert [s.text for s in mine] == [text[s[0].start : s[-1].end] for s in split_sentences(text)]
        for s in mine:
            assert check_bio(s.tags) == []


def test_markup_format_parses_back(tiny_checkpoint, tmp_path, capsys):
    report = RAW / "ninh-binh-10-24.txt"
    code, out, _ = _run(["--model", tiny_checkpoint, "--format", "markup", report], capsys)
    assert code == 0
    assert parse_markup(out)[0] == report.read_text(encoding="utf-8")  # exactly the markup of one document

    messy = tmp_path / "messy.txt"
    messy.write_bytes(MESSY.encode("utf-8"))
    ending = tmp_path / "ending.txt"
    ending.write_text("Bộ Công an.\n\n", encoding="utf-8")
    inputs = [report, messy, ending, tmp_path / "empty.txt"]
    inputs[-1].write_text("", encoding="utf-8")
    code, out, _ = _run(["--model", tiny_checkpoint, "--format", "markup", *inputs], capsys)
    assert code == 0
    parts = split_markup_output(out)
    assert [i for i, _ in parts] == [str(p) for p in inputs]
    for (_, markup), path in zip(parts, inputs):
        assert parse_markup(markup)[0] == path.read_bytes().decode("utf-8")


def test_split_markup_output_inverts_format_markup():
    preds = predict_documents(EverythingTagger(), [InputDocument("a", "Bộ Công an.\n", "-"), InputDocument("b", "x\r\n", "-"),
                                                   InputDocument("c", "", "-"), InputDocument("d", "Công an tỉnh", "-")])
    out = "".join(format_markup(p, single=False) for p in preds)
    parts = split_markup_output(out)
    assert [parse_markup(m)[0] for _, m in parts] == ["Bộ Công an.\n", "x\r\n", "", "Công an tỉnh"]
    assert parts[0][1].startswith("[Bộ Công](ORG)")


def test_long_sentence_gets_every_token(tiny_checkpoint, tmp_path):
    words = ["Công", "an", "tỉnh", "Thái", "Bình", "triển", "khai", "kế", "hoạch", "số", "36/KH-UBND", ","]
    text = "Ông " + " ".join(words[i % len(words)] for i in range(660)) + " ."
    src = tmp_path / "long.txt"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "long.conll"
    assert _run(["--model", tiny_checkpoint, "--format", "conll", "--batch-size", "4", "--output", out, src])[0] == 0
    (sentence,) = read_conll(out)
    assert len(sentence.tokens) == len(sentence.tags) == len(tokenize(text)) > 600
    assert sentence.text == text


def test_ten_thousand_words_without_punctuation(tiny_checkpoint, tmp_path):
    words = ["Công", "an", "tỉnh", "Thái", "Bình", "triển", "khai", "kế", "hoạch", "Đại", "tá", "Nguyễn"]
    text = " ".join(words[i % len(words)] for i in range(10_000))
    src = tmp_path / "long.txt"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "long.conll"
    assert _run(["--model", tiny_checkpoint, "--format", "conll", "--output", out, src])[0] == 0
    (sentence,) = read_conll(out)  # one sentence, read in overlapping windows, nothing truncated
    assert len(sentence.tokens) == len(sentence.tags) == 10_000 and check_bio(sentence.tags) == []


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_precision_and_threads(tiny_checkpoint, capsys, precision):
    import torch

    threads = torch.get_num_threads()
    report = RAW / "bac-lieu-2023-05-31.txt"
    try:
        code, out, _ = _run(["--model", tiny_checkpoint, "--precision", precision, "--threads", "1", report], capsys)
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    (row,) = _jsonl(out)
    text = report.read_text(encoding="utf-8")
    assert all(text[e["start"] : e["end"]] == e["text"] for e in row["entities"])
    tagger = Tagger.from_pretrained(tiny_checkpoint, precision=precision)
    if precision == "int8":
        assert type(tagger.model).__name__ == "OnnxTokenClassifier"  # the recipe is checked in test_int8.py
    else:
        assert next(tagger.model.parameters()).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="precision 'fp16'"):
        Tagger.from_pretrained(tiny_checkpoint, precision="fp16")


def test_missing_model_and_help(tmp_path, capsys):
    doc = tmp_path / "a.txt"
    doc.write_text("Bộ Công an.", encoding="utf-8")
    code, out, err = _run(["--model", tmp_path / "nomodel", doc], capsys)
    assert (code, out) == (1, "")
    assert "nomodel" in err
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    assert "# id = " in capsys.readouterr().out


# ------------------------------------------------------------------------------ input hygiene (#9)

VARIANTS = {
    # name: (how each character is written, text before the first character)
    "NFD": (lambda ch: unicodedata.normalize("NFD", ch), ""),
    "BOM": (lambda ch: ch, "\ufeff"),
    "ZWSP": (lambda ch: "\u200b" if ch == " " else ch, ""),
    "CRLF": (lambda ch: "\r\n" if ch == "\n" else ch, ""),
    "NBSP": (lambda ch: "\u00a0" if ch == " " else ch, ""),
    "soft hyphen and joiners": (
        lambda ch: {"ư": "ư\u00ad", "ơ": "ơ\u00ad", "ệ": "ệ\u200d", "ô": "ô\u200c", "â": "â\u2060"}.get(ch, ch), ""
    ),
}


def _variant(text: str, name: str) -> tuple[str, list[int]]:
    """The variant's text, and for each offset of `text` (end included) the offset in the variant."""
    write, prefix = VARIANTS[name]
    pieces = [write(ch) for ch in text]
    offsets = [len(prefix)]
    for piece in pieces:
        offsets.append(offsets[-1] + len(piece))
    return prefix + "".join(pieces), offsets


@pytest.mark.parametrize("name", list(VARIANTS))
def test_encoding_variants_give_the_entities_of_the_plain_report(tagger, name):
    plain = [InputDocument(d.id, unicodedata.normalize("NFC", d.text), d.source) for d in _reports()]
    assert len(plain) == 5
    expected, variants = [], []
    for doc, pred in zip(plain, predict_documents(tagger, plain)):
        text, offsets = _variant(doc.text, name)
        assert text != doc.text
        variants.append(InputDocument(doc.id, text, doc.source))
        expected.append([(e["type"], offsets[e["start"]], offsets[e["end"]]) for e in pred.entities])
    got = predict_documents(tagger, variants)
    assert sum(map(len, expected)) > 50  # the tiny model tags plenty: the comparison is not vacuous
    for doc, want, pred in zip(variants, expected, got):
        assert [(e["type"], e["start"], e["end"]) for e in pred.entities] == want, doc.id
        assert all(doc.text[e["start"] : e["end"]] == e["text"] for e in pred.entities)


def test_bom_is_stripped_from_txt_jsonl_and_stdin(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    text = "Thiếu tướng Trần Thị Ngọc Đẹp phát biểu."
    txt = tmp_path / "bom.txt"
    txt.write_bytes(b"\xef\xbb\xbf" + text.encode())
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "j", "text": text}).encode() + b"\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbf" + text.encode())))
    code, out, _ = _run(["--model", tiny_checkpoint, txt, jsonl, "-"], capsys)
    assert code == 0
    rows = _jsonl(out)
    assert [r["id"] for r in rows] == [str(txt), "j", "-"]
    for row, shift in zip(rows, (1, 0, 1)):  # offsets index the text as read: the .txt/stdin BOM counts
        assert row["entities"] and all("\ufeff" not in e["text"] for e in row["entities"])
        assert [e["start"] - shift for e in row["entities"]] == [e["start"] for e in rows[1]["entities"]]


def test_clean_text_maps_back_to_the_input():
    from antq_ner.text import clean_text, read_sentences

    text = unicodedata.normalize("NFD", "\ufeffBộ Công\u200ban thực hi\u00adện")
    clean, starts, ends = clean_text(text)
    assert clean == "Bộ Công an thực hiện"
    # the BOM is dropped; NFD `o` + two marks is one `ộ` spanning all three; the ZWSP is the space
    assert list(zip(clean, starts, ends))[:2] == [("B", 1, 2), ("ộ", 2, 5)]
    assert (clean[7], starts[7], ends[7]) == (" ", text.index("\u200b"), text.index("\u200b") + 1)
    tokens = [t for sent in read_sentences(text) for t in sent]
    assert [t.text for t in tokens] == ["Bộ", "Công", "an", "thực", "hiện"]
    assert [unicodedata.normalize("NFC", text[t.start : t.end]).replace("\u00ad", "") for t in tokens] == [
        t.text for t in tokens
    ]
    assert clean_text("") == ("", [], [])
    assert read_sentences("\u200b\ufeff") == []


def test_duplicate_jsonl_ids_are_rejected(tiny_checkpoint, tmp_path, capsys):
    jsonl = tmp_path / "dup.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "text": "Bộ Công an."}) + "\n"
                     + json.dumps({"id": "a", "text": "UBND tỉnh."}) + "\n", encoding="utf-8")
    code, out, err = _run(["--model", tiny_checkpoint, jsonl], capsys)
    assert (code, out) == (1, "")
    assert f"{jsonl}:2: id 'a' already used by {jsonl}:1" in err
    code, out, err = _run(["--model", tiny_checkpoint, "--skip-errors", jsonl], capsys)
    assert code == 0 and [r["id"] for r in _jsonl(out)] == ["a"] and "already used" in err


def test_output_that_is_an_input_is_refused_before_any_work(tiny_checkpoint, tmp_path, capsys):
    doc = tmp_path / "report.txt"
    doc.write_text("Bộ Công an.", encoding="utf-8")
    for output in (doc, tmp_path):
        code, _, err = _run(["--model", tmp_path / "no-model", doc, "--output", output], capsys)
        assert code == 2 and "--output" in err, err  # refused before the (missing) model is looked at
    assert "would destroy it" in _run(["--model", tiny_checkpoint, tmp_path, "-o", doc], capsys)[2]
    assert "is a folder" in _run(["--model", tiny_checkpoint, doc, "-o", tmp_path], capsys)[2]
    code, _, err = _run(["--model", tiny_checkpoint, doc, "-o", doc / "out.jsonl"], capsys)
    assert code == 2 and "is a file, not a folder" in err
    assert doc.read_text(encoding="utf-8") == "Bộ Công an."


def test_outputs_get_the_permissions_of_a_plain_open(tiny_checkpoint, tmp_path, capsys):
    import os

    doc = tmp_path / "report.txt"
    doc.write_text("Bộ Công an.", encoding="utf-8")
    old = os.umask(0o022)
    try:
        assert _run(["--model", tiny_checkpoint, doc, "-o", tmp_path / "new.jsonl"], capsys)[0] == 0
        existing = tmp_path / "existing.jsonl"
        existing.write_text("", encoding="utf-8")
        existing.chmod(0o640)
        assert _run(["--model", tiny_checkpoint, doc, "-o", existing], capsys)[0] == 0
    finally:
        os.umask(old)
    assert (tmp_path / "new.jsonl").stat().st_mode & 0o777 == 0o644
    assert existing.stat().st_mode & 0o777 == 0o640


def test_nothing_to_tag_is_an_error(tiny_checkpoint, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out.jsonl"
    code, _, err = _run(["--model", tiny_checkpoint, tmp_path / "empty", "-o", out], capsys)
    assert code == 1 and "no document to tag" in err and not out.exists()
    code, _, err = _run(["--model", tiny_checkpoint, "--skip-errors", tmp_path / "missing.txt", "-o", out], capsys)
    assert code == 1 and "every input was bad" in err and not out.exists()


def test_markup_output_of_text_with_brackets_parses_back(tiny_checkpoint, tmp_path, capsys):
    text = "Theo [1] và Điều 3], ông [Tô Lâm](PERSON) nói: C:\\dữ liệu."
    doc = tmp_path / "b.txt"
    doc.write_text(text, encoding="utf-8")
    code, out, _ = _run(["--model", tiny_checkpoint, doc, "--format", "markup"], capsys)
    assert code == 0
    plain, spans = parse_markup(out)
    code, jsonl, _ = _run(["--model", tiny_checkpoint, doc], capsys)
    assert plain == text
    assert [(s.start, s.end, s.label) for s in spans] == [
        (e["start"], e["end"], e["type"]) for e in _jsonl(jsonl)[0]["entities"]
    ]


def test_broken_pipe_exits_quietly(tiny_checkpoint, tmp_path):
    import subprocess

    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    big.write_text("Bộ Công an. " * 16000, encoding="utf-8")  # more output than a pipe buffers
    small.write_text("Bộ Công an.", encoding="utf-8")
    proc = subprocess.run(
        f"{sys.executable} predict.py --model {tiny_checkpoint} {big} {small} | head -c1",
        check=False, shell=True, capture_output=True, text=True, cwd=Path(__file__).parent.parent,
    )
    assert proc.stdout == "{"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncate model.safetensors", "model.safetensors is damaged"),
        ("delete model.safetensors", "model.safetensors: missing"),
        ("delete vocab.txt", "cannot load the tokenizer"),
        ("truncate config.json", "config.json"),
    ],
)
def test_a_damaged_checkpoint_is_named(tiny_checkpoint, tmp_path, capsys, damage, message):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_checkpoint, model, ignore=shutil.ignore_patterns("eval", "checkpoints"))
    action, name = damage.split()
    if action == "delete":
        (model / name).unlink()
    else:
        data = (model / name).read_bytes()
        (model / name).write_bytes(data[: len(data) // 2])
    doc = tmp_path / "r.txt"
    doc.write_text("Bộ Công an.", encoding="utf-8")
    code, out, err = _run(["--model", model, doc], capsys)
    assert (code, out) == (1, "")
    assert message in err and str(model) in err and "Traceback" not in err, err


def test_several_processes_split_the_documents_and_write_one_output(tiny_checkpoint, tmp_path):
    """torchrun starts two CPU processes (gloo); each tags its share; the output equals one process's."""
    import shutil
    import subprocess

    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.exists():
        torchrun = shutil.which("torchrun")
    inputs = [str(RAW), str(ANNOTATIONS / "synthetic" / "raw")]
    single, double = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert main(["--model", str(tiny_checkpoint), *inputs, "-o", str(single)]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "predict.py", "--model", str(tiny_checkpoint), *inputs, "-o", str(double)],
        check=False, capture_output=True, text=True, cwd=Path(__file__).parent.parent, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert double.read_text(encoding="utf-8") == single.read_text(encoding="utf-8")
    documents = len(list(RAW.glob("*.txt"))) + len(list((ANNOTATIONS / "synthetic" / "raw").glob("*.txt")))
    assert len(_jsonl(double.read_text(encoding="utf-8"))) == documents
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.jsonl", "two.jsonl"]  # no part left behind
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "Bộ Công an."}\n{not json\n', encoding="utf-8")
    proc = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "predict.py", "--model", str(tiny_checkpoint), "--skip-errors",
         str(bad)],
        check=False, capture_output=True, text=True, cwd=Path(__file__).parent.parent, env=env,
    )
    assert proc.returncode != 0 and "several processes need --output" in proc.stderr
    # both processes check the inputs; one reports
    assert proc.stderr.count("malformed JSON") == 1 and proc.stderr.count("skipped 1 bad document") == 1


def test_documents_are_tagged_as_they_are_read():
    """Streaming: the first predictions come out before the input is exhausted (bounded memory)."""
    pulled = 0

    def documents():
        nonlocal pulled
        for i in range(300):
            pulled += 1
            yield InputDocument(f"d{i}", "Đại tá Nguyễn Văn An dự hội nghị. Bộ Công an triển khai.", "-")

    stream = iter_predictions(EverythingTagger(), documents(), chunk_sentences=64)
    first = next(stream)
    assert first.document.id == "d0" and pulled <= 40  # one chunk of 64 sentences, not 300 documents
    rest = list(stream)
    assert [p.document.id for p in [first, *rest]] == [f"d{i}" for i in range(300)] and pulled == 300


def test_a_few_hundred_documents_in_order(tiny_checkpoint, tmp_path, capsys):
    sentences = [s.text for s in read_conll(ANNOTATIONS / "bio" / "bac-lieu-2023-05-31.conll")]
    jsonl = tmp_path / "many.jsonl"
    jsonl.write_text("".join(json.dumps({"id": f"doc-{i}", "text": " ".join(sentences[i % 7 : i % 7 + 3])},
                                        ensure_ascii=False) + "\n" for i in range(300)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert _run(["--model", tiny_checkpoint, jsonl, "-o", out], capsys)[0] == 0
    rows = _jsonl(out.read_text(encoding="utf-8"))
    assert [r["id"] for r in rows] == [f"doc-{i}" for i in range(300)]


def run_predict(tiny_checkpoint, *args: str, stdout=None):
    import subprocess

    return subprocess.run([sys.executable, "predict.py", "--model", str(tiny_checkpoint), *args], check=False,
                          stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          cwd=Path(__file__).parent.parent, timeout=300)


def test_output_to_a_device_or_a_fifo_is_refused_a_symlink_written_through(tiny_checkpoint, tmp_path):
    """`-o /dev/full` turned the device into a regular file; a link was replaced, a FIFO's reader got nothing."""
    import stat

    doc = tmp_path / "doc.txt"
    doc.write_text("Bộ Công an.", encoding="utf-8")
    done = run_predict(tiny_checkpoint, str(doc), "-o", "/dev/full")
    assert done.returncode == 2 and "is not a regular file" in done.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = run_predict(tiny_checkpoint, str(doc), "-o", str(fifo))
    assert done.returncode == 2 and "is not a regular file" in done.stderr and stat.S_ISFIFO(os.stat(fifo).st_mode)
    target, link = tmp_path / "target.jsonl", tmp_path / "link.jsonl"
    target.write_text("old\n", encoding="utf-8")
    link.symlink_to(target)
    assert main(["--model", str(tiny_checkpoint), str(doc), "-o", str(link)]) == 0
    assert link.is_symlink() and json.loads(target.read_text(encoding="utf-8"))["id"] == str(doc)


def test_standard_output_on_a_full_device_is_one_line(tiny_checkpoint, tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("Bộ Công an tổ chức hội nghị. " * 2000, encoding="utf-8")
    with open("/dev/full", "w") as full:
        done = run_predict(tiny_checkpoint, str(doc), stdout=full)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "error: cannot write to standard output: No space left on device"
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


@pytest.fixture
def small_filesystem(tmp_path):
    """A 64 KiB tmpfs (root only: this project's machines and CI run as root)."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                                           check=False, capture_output=True).returncode:
        pytest.skip("needs root to mount a small tmpfs")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_and_a_read_only_folder_are_one_line(tiny_checkpoint, tmp_path, small_filesystem):
    import subprocess

    doc = tmp_path / "doc.txt"
    doc.write_text("Bộ Công an tổ chức hội nghị. " * 8000, encoding="utf-8")  # output larger than 64 KiB
    out = small_filesystem / "out.jsonl"
    out.write_text("kept\n", encoding="utf-8")
    done = run_predict(tiny_checkpoint, str(doc), "-o", str(out))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: cannot write {out}: No space left on device")
    assert sorted(p.name for p in small_filesystem.iterdir()) == ["out.jsonl"] and out.read_text() == "kept\n"
    subprocess.run(["mount", "-o", "remount,ro", str(small_filesystem)], check=True)
    done = run_predict(tiny_checkpoint, str(doc), "-o", str(small_filesystem / "new.jsonl"))
    assert done.returncode == 2 and "Read-only file system" in done.stderr and "Traceback" not in done.stderr


def test_folders_behind_links_upper_case_txt_and_nul_bytes(tiny_checkpoint, tmp_path):
    """A linked folder and `*.TXT` files were skipped without a word; a NUL byte ended up inside an entity."""
    from antq_ner.documents import read_inputs

    real = tmp_path / "elsewhere"
    real.mkdir()
    (real / "linked.txt").write_text("Bộ Công an.", encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "UPPER.TXT").write_text("Công an tỉnh.", encoding="utf-8")
    (reports / "notes.md").write_text("not a report", encoding="utf-8")
    (reports / "more").symlink_to(real)
    (real / "loop").symlink_to(reports)  # a link loop ends
    assert [Path(d.source).name for d in read_inputs([str(reports)])] == ["UPPER.TXT", "linked.txt"]
    nul = tmp_path / "nul.txt"
    nul.write_text("Đại tá Nguyễn Văn\x00An, Giám đốc Công an tỉnh\x00.", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["--model", str(tiny_checkpoint), str(nul), "-o", str(out)]) == 0
    from antq_ner.text import read_sentences

    tokens = [t.text for sent in read_sentences(nul.read_text(encoding="utf-8")) for t in sent]
    assert "\x00" not in "".join(tokens) and "An" in tokens and "." in tokens  # a NUL separates, like a space
    assert json.loads(out.read_text(encoding="utf-8"))["id"] == str(nul)


def test_segmenter_fallbacks_print_the_first_few_and_a_count(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    from antq_ner import segment
    from antq_ner.cli import FALLBACKS_SHOWN

    monkeypatch.setattr(segment, "get_segmenter", lambda name: str.upper)
    doc = tmp_path / "doc.txt"
    doc.write_text("\n".join(f"Câu số {k} của Bộ Công an." for k in range(10)), encoding="utf-8")
    assert main(["--model", str(tiny_checkpoint), str(doc), "-o", str(tmp_path / "out.jsonl")]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert sum("read one word per syllable: " in line for line in lines) == FALLBACKS_SHOWN
    assert lines[-1] == (f"warning: 10 sentence(s) read one word per syllable (segmenter fallback); the first "
                         f"{FALLBACKS_SHOWN} are above")


def test_the_corpus_route_takes_what_predict_takes(tiny_checkpoint, tiny_corpus, capsys):
    """An NFD report built, then failed validation; predict.py's CoNLL of it could not enter the corpus."""
    from antq_ner.cli import main as antq_ner

    for folder in ("raw", "markup"):
        path = tiny_corpus / folder / "tiny.txt"
        path.write_text(unicodedata.normalize("NFD", path.read_text(encoding="utf-8")).replace("Hội", "H\u00adội"),
                        encoding="utf-8")
    assert antq_ner(["corpus", "build", "--annotations", str(tiny_corpus)]) == 0
    assert antq_ner(["corpus", "validate", "--annotations", str(tiny_corpus)]) == 0
    built = read_conll(tiny_corpus / "bio" / "tiny.conll")
    assert all(unicodedata.is_normalized("NFC", t) for s in built for t in s.tokens)
    # predict.py's CoNLL of the NFD report is a valid corpus file for it (tags aside: the model's)
    out = tiny_corpus / "bio" / "tiny.conll"
    assert main(["--model", str(tiny_checkpoint), "--format", "conll", str(tiny_corpus / "raw" / "tiny.txt"),
                 "-o", str(tiny_corpus / "predicted.conll")]) == 0
    predicted = read_conll(tiny_corpus / "predicted.conll")
    assert {s.doc_id for s in predicted} == {"tiny"}
    kept = [s for s in predicted if s.text.strip() not in ("Xem thêm",)]  # the fixture's excluded furniture line
    from antq_ner.bio import write_conll

    write_conll(out, kept)
    capsys.readouterr()
    assert antq_ner(["corpus", "validate", "--annotations", str(tiny_corpus)]) == 0, capsys.readouterr().err


def test_an_emoji_sequence_keeps_its_joiners(tiny_checkpoint, tmp_path):
    """The zero-width joiners of 👨‍👩‍👧 were dropped from CoNLL output, splitting it into three emoji."""
    family = "👨\u200d👩\u200d👧"
    doc = tmp_path / "doc.txt"
    doc.write_text(f"Tin vui {family} cho Bộ Công an.", encoding="utf-8")
    assert main(["--model", str(tiny_checkpoint), "--format", "conll", str(doc), "-o", str(tmp_path / "o.conll")]) == 0
    (sentence,) = read_conll(tmp_path / "o.conll")
    assert family in sentence.tokens and family in sentence.text
