"""BIO tags and spans, CoNLL files, and the markup format."""

from __future__ import annotations

import pytest
from conftest import ANNOTATIONS, FIXTURES

from antq_ner.bio import (
    BioError,
    Sentence,
    Span,
    bio_to_spans,
    check_bio,
    format_conll,
    read_conll,
    spans_to_bio,
    write_conll,
)
from antq_ner.corpus import CorpusDocument, sentences_from_markup
from antq_ner.markup import CharSpan, MarkupError, parse_markup, render_markup

LABELS = ("PERSON", "RANK", "ORG", "PROGRAM", "QUANTITY")


@pytest.mark.parametrize(
    "n, spans, tags",
    [
        (0, [], []),
        (3, [], ["O", "O", "O"]),
        (1, [Span(0, 1, "ORG")], ["B-ORG"]),
        (3, [Span(1, 2, "QUANTITY")], ["O", "B-QUANTITY", "O"]),
        # Two PERSONs touching: the second starts with B-, not I-.
        (4, [Span(0, 2, "PERSON"), Span(2, 4, "PERSON")], ["B-PERSON", "I-PERSON", "B-PERSON", "I-PERSON"]),
        (3, [Span(0, 1, "PERSON"), Span(1, 2, "PERSON"), Span(2, 3, "PERSON")], ["B-PERSON"] * 3),
        # Entity at sentence start and at sentence end.
        (5, [Span(0, 2, "RANK"), Span(3, 5, "ORG")], ["B-RANK", "I-RANK", "O", "B-ORG", "I-ORG"]),
        # Different types touching.
        (4, [Span(0, 2, "RANK"), Span(2, 4, "PERSON")], ["B-RANK", "I-RANK", "B-PERSON", "I-PERSON"]),
        # A span over the whole sentence.
        (3, [Span(0, 3, "PROGRAM")], ["B-PROGRAM", "I-PROGRAM", "I-PROGRAM"]),
    ],
)
def test_spans_bio_round_trip(n, spans, tags):
    assert spans_to_bio(n, spans) == tags
    assert bio_to_spans(tags) == sorted(spans)
    assert spans_to_bio(n, bio_to_spans(tags)) == tags


def test_spans_to_bio_accepts_unsorted_spans():
    spans = [Span(3, 4, "ORG"), Span(0, 2, "PERSON")]
    assert spans_to_bio(4, spans) == ["B-PERSON", "I-PERSON", "O", "B-ORG"]


@pytest.mark.parametrize(
    "n, spans",
    [
        (3, [Span(1, 1, "ORG")]),  # empty
        (3, [Span(2, 4, "ORG")]),  # past the end
        (3, [Span(-1, 1, "ORG")]),
        (4, [Span(0, 2, "ORG"), Span(1, 3, "PERSON")]),  # overlap
        (4, [Span(0, 3, "ORG"), Span(1, 2, "ORG")]),  # nested
    ],
)
def test_spans_to_bio_rejects_bad_spans(n, spans):
    with pytest.raises(BioError):
        spans_to_bio(n, spans)


@pytest.mark.parametrize(
    "tags, where",
    [
        (["I-PERSON"], "token 0"),
        (["O", "I-PERSON"], "token 1"),
        (["B-ORG", "O", "I-ORG"], "token 2"),
        (["B-RANK", "I-PERSON"], "token 1"),
        (["B-PERSON", "I-PERSON", "I-ORG"], "token 2"),
        (["O", "X-PERSON"], "token 1"),
        (["B-"], "token 0"),
        (["BPERSON"], "token 0"),
        (["B_PERSON"], "token 0"),
        (["PERSON"], "token 0"),
        (["b-PERSON"], "token 0"),
        (["o"], "token 0"),
        ([""], "token 0"),
    ],
)
def test_bio_to_spans_raises(tags, where):
    with pytest.raises(BioError, match=where):
        bio_to_spans(tags)


def test_inputs_not_mutated():
    spans = [Span(2, 3, "ORG"), Span(0, 2, "PERSON")]
    spans_copy = list(spans)
    tags = spans_to_bio(3, spans)
    assert spans == spans_copy
    tags_copy = list(tags)
    bio_to_spans(tags)
    check_bio(tags, LABELS)
    assert tags == tags_copy
    # Tuples (as in Sentence.tags) work too.
    assert bio_to_spans(tuple(tags)) == sorted(spans)


def test_check_bio_well_formed():
    assert check_bio(["B-PERSON", "I-PERSON", "O", "B-ORG"], LABELS) == []
    assert check_bio([], LABELS) == []
    # Without labels, any type is accepted.
    assert check_bio(["B-LOC", "I-LOC"]) == []


def test_check_bio_unknown_label():
    problems = check_bio(["O", "B-LOC", "I-LOC", "B-ORG"], LABELS)
    assert [i for i, _ in problems] == [1, 2]
    assert all("'LOC'" in message for _, message in problems)


def test_check_bio_reports_every_problem():
    problems = check_bio(["I-ORG", "B-PERSON", "I-ORG", "Q"], LABELS)
    assert [i for i, _ in problems] == [0, 2, 3]
    assert "malformed" in problems[2][1]


def _sentences():
    return [
        Sentence("d1", "d1-001", "Đ.c Tô Lâm dự.", ("Đ", ".", "c", "Tô", "Lâm", "dự", "."),
                 ("O", "O", "O", "B-PERSON", "I-PERSON", "O", "O")),
        Sentence("d1", "d1-002", "Ủy ban\u00a0tỉnh = 2.100", ("Ủy", "ban", "tỉnh", "=", "2.100"),
                 ("B-ORG", "I-ORG", "I-ORG", "O", "O")),
    ]


def _fields(s: Sentence):
    return (s.doc_id, s.sent_id, s.text, s.tokens, s.tags)


def test_write_read_conll_round_trip(tmp_path):
    path = tmp_path / "sub" / "d1.conll"
    sentences = _sentences()
    write_conll(path, sentences)
    text = path.read_text(encoding="utf-8")
    assert text == format_conll(sentences)
    assert text.startswith("# doc_id = d1\n# sent_id = d1-001\n# text = Đ.c Tô Lâm dự.\nĐ\tO\n")
    assert text.endswith("2.100\tO\n\n")
    back = read_conll(path)
    assert [_fields(s) for s in back] == [_fields(s) for s in sentences]
    # Line numbers point into the file.
    assert back[0].line == 1 and back[0].token_lines == tuple(range(4, 11))
    assert back[1].line == 12 and back[1].token_lines == tuple(range(15, 20))
    lines = text.split("\n")
    for s in back:
        for tok, tag, lineno in zip(s.tokens, s.tags, s.token_lines):
            assert lines[lineno - 1] == f"{tok}\t{tag}"


def test_format_conll_empty():
    assert format_conll([]) == ""


@pytest.mark.parametrize("space", [" ", "\u00a0", "\t", "\u2028", "\x0c", "\r"],
                         ids=["space", "nbsp", "tab", "u2028", "formfeed", "lone-cr"])
def test_build_write_read_round_trip_with_odd_whitespace(tmp_path, space):
    """Whatever whitespace `split_sentences` keeps inside a sentence must survive the CoNLL file."""
    raw = f"Đại tá Trần Văn Toản{space}phát biểu. Bà B dự\n"
    doc = CorpusDocument("d", "", "", "", ())
    sentences = sentences_from_markup(doc, raw, raw)
    path = tmp_path / "d.conll"
    write_conll(path, sentences)
    assert [_fields(s) for s in read_conll(path)] == [_fields(s) for s in sentences]


@pytest.mark.parametrize(
    "content, lineno",
    [
        ("# doc_id = d\n# sent_id = d-1\n# text = a b\na\tO\nb O\n", 5),  # no tab
        ("# doc_id = d\n# sent_id = d-1\n# text = a\na\tO\tX\n", 4),  # three columns
        ("# doc_id = d\n# sent_id = d-1\n# text = a\n\tO\n", 4),  # no token
        ("# doc_id = d\n# sent_id = d-1\n# text = a\na\t\n", 4),  # no tag
        ("# doc_id = d\n# sent_id: d-1\n# text = a\na\tO\n", 2),  # comment without ' = '
        ("# doc_id = d\n# sent_id = d-1\n# text = a\na\tO\n\n\nb\tO\n", 7),  # sentence without comments
        ("# doc_id = d\n# text = a\na\tO\n", 1),  # no sent_id
    ],
)
def test_read_conll_errors_name_file_and_line(tmp_path, content, lineno):
    path = tmp_path / "bad.conll"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BioError) as err:
        read_conll(path)
    assert str(err.value).startswith(f"{path}:{lineno}: ")


# Markup ------------------------------------------------------------------------------------------


def test_parse_markup():
    markup = "Đ.c [Đại tá](RANK) [Trần Văn Toản](PERSON), [Giám đốc](RANK) [CAT](ORG)\n[2.100 mô hình](QUANTITY)."
    text, spans = parse_markup(markup, set(LABELS))
    assert text == "Đ.c Đại tá Trần Văn Toản, Giám đốc CAT\n2.100 mô hình."
    assert [(text[s.start : s.end], s.label) for s in spans] == [
        ("Đại tá", "RANK"), ("Trần Văn Toản", "PERSON"), ("Giám đốc", "RANK"), ("CAT", "ORG"),
        ("2.100 mô hình", "QUANTITY"),
    ]
    assert render_markup(text, spans) == markup


def test_render_parse_round_trip_adjacent():
    text = "Thiên Bảo – Đức VănTTXVN"
    spans = [CharSpan(12, 19, "PERSON"), CharSpan(0, 9, "PERSON"), CharSpan(19, 24, "ORG")]
    markup = render_markup(text, spans)
    assert markup == "[Thiên Bảo](PERSON) – [Đức Văn](PERSON)[TTXVN](ORG)"
    assert parse_markup(markup, set(LABELS)) == (text, sorted(spans))


@pytest.mark.parametrize("path", sorted((ANNOTATIONS / "markup").glob("*.txt")), ids=lambda p: p.stem)
def test_committed_markup_round_trips(path):
    markup = path.read_text(encoding="utf-8")
    text, spans = parse_markup(markup, set(LABELS), str(path))
    assert spans
    assert render_markup(text, spans) == markup
    assert text == (ANNOTATIONS / "raw" / path.name).read_text(encoding="utf-8")


def test_render_markup_rejects_overlap():
    with pytest.raises(MarkupError):
        render_markup("abcdef", [CharSpan(0, 3, "ORG"), CharSpan(2, 4, "ORG")])


def test_markup_unknown_type_names_line():
    markup = "dòng một\n[Tô Lâm](PERSON) và\n[Hà Nội](LOCATION)"
    with pytest.raises(MarkupError, match=r"^m\.txt:3: unknown type 'LOCATION'"):
        parse_markup(markup, set(LABELS), "m.txt")
    # Without a label set, any upper-case type is read.
    assert parse_markup(markup)[1][-1].label == "LOCATION"


@pytest.mark.parametrize(
    "markup, line, ch",
    [
        ("[Tô Lâm](PERSON) dự\nhội nghị ] tỉnh", 2, "]"),
        ("một\nhai\n[Tô Lâm](PERSON) [Bộ Công an(ORG)", 3, "["),
        ("[Tô Lâm](person)", 1, "["),  # lower-case type: not a mention
        ("[Tô Lâm](PERSON)\n[Bộ](ORG) [Công an\n](ORG)", 2, "["),  # a mention cannot span lines
    ],
)
def test_markup_stray_bracket_names_line(markup, line, ch):
    with pytest.raises(MarkupError, match=rf"^m\.txt:{line}: stray '\{ch}'"):
        parse_markup(markup, set(LABELS), "m.txt")


def test_markup_mention_with_outer_space():
    with pytest.raises(MarkupError, match=r"^m\.txt:1: mention ' Tô Lâm'"):
        parse_markup("[ Tô Lâm](PERSON)", set(LABELS), "m.txt")


@pytest.mark.parametrize(
    "text, spans",
    [
        ("Điều [3] của Luật", [CharSpan(0, 8, "PROGRAM")]),
        ("a ] b [ c", [CharSpan(2, 5, "ORG")]),
        ("C:\\dữ liệu\\[x](PERSON)", [CharSpan(3, 10, "ORG")]),
        ("kết thúc bằng \\", [CharSpan(0, 3, "ORG")]),
        ("[Tô Lâm](PERSON) thật", [CharSpan(1, 7, "PERSON")]),
    ],
)
def test_markup_escapes_literal_brackets_and_backslashes(text, spans):
    markup = render_markup(text, spans)
    assert parse_markup(markup) == (text, spans)
    # a literal `[x](PERSON)` in the text stays text: no mention is read into it
    assert parse_markup(render_markup(text, [])) == (text, [])


def test_markup_backslash_before_other_characters_is_literal():
    assert parse_markup(r"a\b [Bộ \[Công\] an](ORG)") == ("a\\b Bộ [Công] an", [CharSpan(4, 16, "ORG")])


def test_crlf_conll_reads_like_lf(tmp_path):
    source = FIXTURES / "corpus" / "bio" / "tiny.conll"
    crlf = tmp_path / "crlf.conll"
    crlf.write_bytes(source.read_bytes().replace(b"\n", b"\r\n"))
    assert read_conll(crlf) == read_conll(source)
    assert [s.token_lines for s in read_conll(crlf)] == [s.token_lines for s in read_conll(source)]
