"""Tokenizer, sentence splitter and model normalisation (GUIDELINES.md, "Units")."""

from __future__ import annotations

import unicodedata

import pytest
from conftest import ANNOTATIONS

from antq_ner.text import normalize_for_model, split_sentences, tokenize

RAW_FILES = sorted((ANNOTATIONS / "raw").glob("*.txt"))


def texts(tokens):
    return [t.text for t in tokens]


def assert_offsets(text, tokens):
    """Every token is `text[start:end]`; tokens in order, apart only by whitespace."""
    prev_end = None
    for t in tokens:
        assert t.text, t
        assert text[t.start : t.end] == t.text, t
        if prev_end is not None:
            assert t.start >= prev_end, t
            gap = text[prev_end : t.start]
            assert gap == "" or gap.isspace(), (t, gap)
        prev_end = t.end


def test_five_raw_reports_present():
    assert len(RAW_FILES) == 5


@pytest.mark.parametrize("path", RAW_FILES, ids=lambda p: p.stem)
def test_offsets_on_raw_reports(path):
    raw = path.read_text(encoding="utf-8")
    tokens = tokenize(raw)
    assert tokens
    assert_offsets(raw, tokens)
    # Tokens cover every non-space character of the report.
    assert "".join(texts(tokens)) == "".join(raw.split())
    sentences = split_sentences(raw)
    for sentence in sentences:
        assert sentence
        assert_offsets(raw, sentence)
    # The sentences are the same tokens, cut into pieces.
    assert [t for s in sentences for t in s] == tokens


@pytest.mark.parametrize(
    "chunk",
    ["2.100", "133.455", "30/8/2018", "09/CTr-BCA-MTTW", "43/118", "23-TT/TU", "100%", "00:05", "BCA-MTTW", "2013-2023"],
)
def test_one_token(chunk):
    assert texts(tokenize(chunk)) == [chunk]


@pytest.mark.parametrize(
    "chunk, expected",
    [
        ("Kiệt/TTXVN", ["Kiệt", "/", "TTXVN"]),
        ("TBTT.BCĐ", ["TBTT", ".", "BCĐ"]),
        ("Đ.c", ["Đ", ".", "c"]),
        ("cư”,”Dân", ["cư", "”", ",", "”", "Dân"]),
        ("(2013-2023).", ["(", "2013-2023", ")", "."]),
        ("2018.", ["2018", "."]),
        ("133.455,", ["133.455", ","]),
        ("100%.", ["100%", "."]),
        ("(100%)", ["(", "100%", ")"]),
        ("“5+1”", ["“", "5+1", "”"]),
        ("CTr-BCA-MTTW,", ["CTr-BCA-MTTW", ","]),
        ("./.", [".", "/", "."]),
    ],
)
def test_split_chunk(chunk, expected):
    tokens = tokenize(chunk)
    assert texts(tokens) == expected
    assert_offsets(chunk, tokens)


def test_tokens_in_a_sentence():
    text = "Sáng 30/8/2018, Đ.c Đại tá Trần Văn Toản (Ảnh: Tuấn Kiệt/TTXVN)."
    assert texts(tokenize(text)) == [
        "Sáng", "30/8/2018", ",", "Đ", ".", "c", "Đại", "tá", "Trần", "Văn", "Toản",
        "(", "Ảnh", ":", "Tuấn", "Kiệt", "/", "TTXVN", ")", ".",
    ]


def test_tokenize_start_end_offsets_into_whole_text():
    text = "bỏ qua. Hội nghị 2.100 mô hình"
    start = text.index("Hội")
    tokens = tokenize(text, start, len(text) - len(" mô hình"))
    assert texts(tokens) == ["Hội", "nghị", "2.100"]
    assert_offsets(text, tokens)
    assert tokens[0].start == start


def _awkward(text: str) -> str:
    """NFD, with some spaces turned into non-breaking spaces and tabs."""
    out = []
    for i, ch in enumerate(unicodedata.normalize("NFD", text)):
        if ch == " ":
            ch = ["\u00a0", "\t", " ", "\u00a0 "][i % 4]
        out.append(ch)
    return "".join(out)


def test_offsets_on_nfd_nbsp_and_tabs():
    nfc = "Thượng tướng Tô Lâm, Ủy viên Bộ Chính trị, dự “Ngày hội” (19/8) với 133.455 người… Hòa bình."
    text = _awkward(nfc)
    assert not unicodedata.is_normalized("NFC", text)
    assert "\u00a0" in text and "\t" in text
    tokens = tokenize(text)
    assert_offsets(text, tokens)
    # Same tokens as the NFC text, only in another normal form.
    assert [unicodedata.normalize("NFC", t) for t in texts(tokens)] == texts(tokenize(nfc))
    for sentence in split_sentences(text):
        assert_offsets(text, sentence)


@pytest.mark.parametrize("path", RAW_FILES, ids=lambda p: p.stem)
def test_raw_reports_made_awkward_split_the_same(path):
    raw = path.read_text(encoding="utf-8")
    text = _awkward(raw)
    sentences = split_sentences(text)
    for sentence in sentences:
        assert_offsets(text, sentence)
    nfc = [[unicodedata.normalize("NFC", t.text) for t in s] for s in sentences]
    assert nfc == [texts(s) for s in split_sentences(raw)]


def test_nbsp_is_whitespace():
    assert texts(tokenize("Công\u00a0an\ttỉnh\u00a0")) == ["Công", "an", "tỉnh"]


def sentence_texts(text):
    return [" ".join(texts(s)) for s in split_sentences(text)]


def test_line_break_always_ends_a_sentence():
    assert sentence_texts("Quang cảnh hội nghị\nẢnh: Tuấn Kiệt\n") == ["Quang cảnh hội nghị", "Ảnh : Tuấn Kiệt"]
    # Even in the middle of a clause, and with a lowercase next line.
    assert sentence_texts("phát biểu khai\nmạc hội nghị") == ["phát biểu khai", "mạc hội nghị"]
    assert sentence_texts("một\r\nhai") == ["một", "hai"]


def test_blank_lines_give_no_sentences():
    assert split_sentences("\n\n  \n") == []
    assert sentence_texts("Một.\n\n\nHai.") == ["Một .", "Hai ."]


@pytest.mark.parametrize(
    "text",
    [
        "Ảnh: Đ.c Nguyễn Ngọc Hai phát biểu",
        "Ảnh: Đ.c Chủ tịch UBND tỉnh trao Bằng khen",
        "(Cadn.com.vn) - Ngày 24-10, UBND tỉnh Ninh Bình tổ chức Hội nghị",
        "với 2.100 mô hình và 133.455 người",
    ],
)
def test_no_split(text):
    assert len(split_sentences(text)) == 1


def test_split_at_dot_before_capital():
    assert sentence_texts("trong tình hình mới. Dự hội nghị có đồng chí") == [
        "trong tình hình mới .",
        "Dự hội nghị có đồng chí",
    ]


def test_split_after_last_dot_of_ellipsis():
    assert sentence_texts("“Sơn Tịnh chung tay vì người nghèo”... Tổ chức phối hợp") == [
        "“ Sơn Tịnh chung tay vì người nghèo ” . . .",
        "Tổ chức phối hợp",
    ]


def test_split_before_digit_and_opener():
    assert sentence_texts("năm 2018. 5 năm qua. “Khu dân cư” được xây dựng") == [
        "năm 2018 .",
        "5 năm qua .",
        "“ Khu dân cư ” được xây dựng",
    ]


def test_no_split_before_lowercase():
    assert len(split_sentences("tổ chức. sau đó")) == 1


@pytest.mark.parametrize(
    "new, old",
    [
        ("hòa", "hoà"),
        ("Ủy", "Uỷ"),
        ("ÒA", "OÀ"),
        ("khỏe", "khoẻ"),
        ("Thủy", "Thuỷ"),
        ("Hòa", "Hoà"),
        ("thúy", "thuý"),
        ("hoàng", "hoàng"),  # the tone is already on the main vowel
        ("quý", "quý"),
        ("hoà", "hoà"),  # already old style
        ("Uỷ", "Uỷ"),
        ("Công", "Công"),
        ("2.100", "2.100"),
    ],
)
def test_normalize_for_model(new, old):
    assert normalize_for_model(new) == old


def test_normalize_for_model_nfd_in_nfc_out():
    nfd = unicodedata.normalize("NFD", "Ủy ban Thủy lợi")
    assert not unicodedata.is_normalized("NFC", nfd)
    out = normalize_for_model(nfd)
    assert unicodedata.is_normalized("NFC", out)
    assert out == "Uỷ ban Thuỷ lợi"


@pytest.mark.parametrize("path", RAW_FILES, ids=lambda p: p.stem)
def test_normalize_for_model_keeps_length_of_nfc_tokens(path):
    for token in tokenize(path.read_text(encoding="utf-8")):
        out = normalize_for_model(token.text)
        assert len(out) == len(token.text), token
        assert unicodedata.is_normalized("NFC", out)
        assert normalize_for_model(out) == out  # idempotent


@pytest.mark.parametrize("text", [
    "Đại tá Nguyễn Văn Hùng, Giám đốc Công an tỉnh.\nBộ Công an triển khai 100% kế hoạch.",
    "\u1ea1\u0301 x\u0334y.",  # NFC, with combining marks that compose with nothing
    (ANNOTATIONS / "raw" / "bac-lieu-2023-05-31.txt").read_text(encoding="utf-8"),
])
def test_read_sentences_skips_cleaning_only_where_it_changes_nothing(text):
    from antq_ner.text import Token, clean_text, read_sentences

    clean, starts, ends = clean_text(text)
    assert clean == text
    cleaned = [[Token(t.text, starts[t.start], ends[t.end - 1]) for t in s] for s in split_sentences(clean)]
    assert read_sentences(text) == cleaned
