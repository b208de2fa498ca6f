"""The validator on the tiny fixture corpus and on one broken copy per defect."""

from __future__ import annotations

import shutil
import unicodedata

import pytest
from conftest import FIXTURES

from antq_ner.cli import main
from antq_ner.validate import validate_corpus

BROKEN = FIXTURES / "broken"


def test_valid_fixture(tiny_corpus):
    assert validate_corpus(tiny_corpus / "bio") == []


def test_crlf_corpus_validates_like_lf(tiny_corpus):
    for path in (tiny_corpus / "bio").glob("*.conll"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert validate_corpus(tiny_corpus / "bio") == []


def test_valid_fixture_explicit_paths(tiny_corpus, tmp_path):
    # raw/ and documents.yaml can live anywhere.
    bio = tmp_path / "elsewhere"
    shutil.copytree(tiny_corpus / "bio", bio)
    assert validate_corpus(bio, tiny_corpus / "raw", tiny_corpus / "documents.yaml") == []


def test_broken_fixtures_are_one_line_from_the_valid_file():
    valid = (FIXTURES / "corpus" / "bio" / "tiny.conll").read_text(encoding="utf-8").split("\n")
    for path in sorted(BROKEN.glob("*.conll")):
        broken = path.read_text(encoding="utf-8").split("\n")
        if path.name == "empty_sentence.conll":
            assert broken[:40] + broken[44:] == valid, path.name
        else:
            assert len(broken) == len(valid), path.name
            assert sum(a != b for a, b in zip(valid, broken)) == 1, path.name


def _validate_broken(tiny_corpus, name):
    target = tiny_corpus / "bio" / "tiny.conll"
    shutil.copyfile(BROKEN / name, target)
    return str(target), validate_corpus(tiny_corpus / "bio")


@pytest.mark.parametrize(
    "name, line, words",
    [
        ("i_after_o.conll", 31, ["'I-QUANTITY' follows 'O'"]),
        ("unknown_label.conll", 49, ["unknown label 'LOCATION'"]),
        ("token_mismatch.conll", 20, ["token 'hoi'", "does not give back the raw text", "tiny.txt:1:65"]),
        ("empty_sentence.conll", 41, ["empty sentence 'tiny-004'"]),
        ("duplicate_sent_id.conll", 24, ["duplicate sent_id 'tiny-001'", "tiny.conll:1"]),
    ],
)
def test_broken_fixture(tiny_corpus, name, line, words):
    path, problems = _validate_broken(tiny_corpus, name)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert (problem.path, problem.line) == (path, line)
    for w in words:
        assert w in problem.message
    assert str(problem).startswith(f"{path}:{line}: ")


def test_non_nfc(tiny_corpus):
    nfd = unicodedata.normalize("NFD", "Kiệt")
    assert nfd.encode() in (BROKEN / "non_nfc.conll").read_bytes()
    path, problems = _validate_broken(tiny_corpus, "non_nfc.conll")
    # The decomposed token is reported as not NFC, and (being other bytes) as not the raw text.
    assert [(p.path, p.line) for p in problems] == [(path, 47), (path, 47)]
    assert "is not NFC" in problems[0].message
    assert "does not give back the raw text" in problems[1].message


def test_unreadable_line_is_reported_at_its_line(tiny_corpus):
    path, problems = _validate_broken(tiny_corpus, "no_tab.conll")
    bio_problems = [p for p in problems if p.path == path]
    assert len(bio_problems) == 1
    assert f"{path}:20: expected 'token<TAB>tag'" in str(bio_problems[0])
    assert bio_problems[0].line == 20, str(bio_problems[0])


def test_unreadable_file_does_not_make_its_report_unannotated(tiny_corpus):
    """A file that cannot be read is one problem, not also 'report tiny.txt has no annotations'."""
    path, problems = _validate_broken(tiny_corpus, "no_tab.conll")
    assert [p.path for p in problems] == [path], [str(p) for p in problems]


def test_report_without_annotations(tiny_corpus):
    extra = tiny_corpus / "raw" / "extra.txt"
    extra.write_text("Một báo cáo chưa gán nhãn.\n", encoding="utf-8")
    problems = validate_corpus(tiny_corpus / "bio")
    assert len(problems) == 1, problems
    assert problems[0].path == str(extra)
    assert "extra.txt has no annotations" in problems[0].message


def test_conll_without_raw_report(tiny_corpus):
    (tiny_corpus / "raw" / "tiny.txt").rename(tiny_corpus / "raw" / "other.txt")
    problems = validate_corpus(tiny_corpus / "bio")
    messages = {(p.path.rsplit("/", 1)[-1], p.line): p.message for p in problems}
    assert set(messages) == {("tiny.conll", 1), ("other.txt", 0)}
    assert "no raw report" in messages[("tiny.conll", 1)]


def test_raw_text_not_annotated(tiny_corpus):
    """The last sentence deleted: the raw text it held is reported."""
    path = tiny_corpus / "bio" / "tiny.conll"
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[40] == "# doc_id = tiny" and lines[42] == "# text = Ảnh: Tuấn Kiệt/TTXVN"
    path.write_text("\n".join(lines[:40]), encoding="utf-8")
    problems = validate_corpus(tiny_corpus / "bio")
    assert len(problems) == 1, problems
    (problem,) = problems
    assert (problem.path, problem.line) == (str(path), 24)
    assert "tiny.txt:3:1" in problem.message
    assert "'Ảnh: Tuấn Kiệt/TTXVN" in problem.message
    assert "is not annotated" in problem.message


def test_excluded_line_must_be_listed(tiny_corpus):
    """Without its `exclude` entry, the furniture line 'Xem thêm' is raw text left out."""
    docs = tiny_corpus / "documents.yaml"
    docs.write_text(docs.read_text(encoding="utf-8").replace('exclude: ["Xem thêm"]', "exclude: []"), encoding="utf-8")
    problems = validate_corpus(tiny_corpus / "bio")
    assert len(problems) == 1, problems
    assert "'Xem thêm" in problems[0].message and "tiny.txt:2:1" in problems[0].message


def test_no_conll_files(tmp_path):
    (tmp_path / "bio").mkdir()
    (tmp_path / "raw").mkdir()
    problems = validate_corpus(tmp_path / "bio")
    assert [(p.path, p.message) for p in problems] == [(str(tmp_path / "bio"), "no .conll files")]


def test_cli_reports_file_and_line(tiny_corpus, capsys):
    target = tiny_corpus / "bio" / "tiny.conll"
    shutil.copyfile(BROKEN / "i_after_o.conll", target)
    assert main(["corpus", "validate", "--bio-dir", str(tiny_corpus / "bio")]) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"{target}:31: 'I-QUANTITY' follows 'O'")
    assert "1 problem(s)" in out


def test_cli_valid_fixture(tiny_corpus, capsys):
    assert main(["corpus", "validate", "--annotations", str(tiny_corpus)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{tiny_corpus / 'bio'}: valid"
    assert err == ""
