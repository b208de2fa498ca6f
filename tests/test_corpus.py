"""The committed corpus: generated files up to date, valid, complete, and documented."""

from __future__ import annotations

import pytest
from conftest import ANNOTATIONS, FIXTURES, REPO

from antq_ner.bio import bio_to_spans, read_conll
from antq_ner.cli import main
from antq_ner.corpus import (
    build_corpus,
    corpus_statistics,
    format_statistics,
    load_documents,
    load_sentences,
)
from antq_ner.labels import ENTITY_TYPES
from antq_ner.validate import validate_corpus

DOCS = load_documents(ANNOTATIONS / "documents.yaml")
SHARED_REPORTS = REPO.parent / "shared" / "reports"


def test_registry_lists_the_five_reports():
    assert len(DOCS) == 5
    assert len({d.id for d in DOCS}) == 5
    assert {d.id for d in DOCS} == {p.stem for p in (ANNOTATIONS / "raw").glob("*.txt")}
    assert {d.id for d in DOCS} == {p.stem for p in (ANNOTATIONS / "markup").glob("*.txt")}
    assert len({d.source for d in DOCS}) == 5


def test_committed_bio_equals_fresh_build(tmp_path):
    corpus = build_corpus(ANNOTATIONS, out_dir=tmp_path)
    assert set(corpus) == {d.id for d in DOCS}
    generated = sorted(p.name for p in tmp_path.glob("*.conll"))
    committed = sorted(p.name for p in (ANNOTATIONS / "bio").glob("*.conll"))
    assert generated == committed
    for name in generated:
        assert (tmp_path / name).read_bytes() == (ANNOTATIONS / "bio" / name).read_bytes(), (
            f"annotations/bio/{name} is stale: run `antq-ner corpus build`"
        )


def test_committed_bio_validates():
    assert validate_corpus(ANNOTATIONS / "bio") == []


def test_every_raw_report_has_a_conll_file():
    for raw in sorted((ANNOTATIONS / "raw").glob("*.txt")):
        path = ANNOTATIONS / "bio" / f"{raw.stem}.conll"
        assert path.is_file(), path
        sentences = read_conll(path)
        assert sentences and {s.doc_id for s in sentences} == {raw.stem}


@pytest.mark.skipif(not SHARED_REPORTS.is_dir(), reason="no ../shared/reports beside this checkout")
@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.id)
def test_raw_equals_shared_report(doc):
    source = SHARED_REPORTS / doc.source
    assert source.is_file(), source
    assert (ANNOTATIONS / "raw" / f"{doc.id}.txt").read_bytes() == source.read_bytes()


@pytest.mark.skipif(not SHARED_REPORTS.is_dir(), reason="no ../shared/reports beside this checkout")
def test_every_shared_report_is_registered():
    assert sorted(p.name for p in SHARED_REPORTS.glob("*.txt")) == sorted(d.source for d in DOCS)


def test_every_type_in_at_least_three_reports():
    seen = {t: set() for t in ENTITY_TYPES}
    for doc in DOCS:
        for s in load_sentences(ANNOTATIONS / "bio", [doc.id]):
            for span in bio_to_spans(s.tags):
                seen[span.label].add(doc.id)
    assert {t: len(docs) for t, docs in seen.items() if len(docs) < 3} == {}


def test_cli_validate_committed_corpus(capsys):
    assert main(["corpus", "validate", "--annotations", str(ANNOTATIONS)]) == 0
    out, err = capsys.readouterr()
    assert "valid" in out
    assert err == ""


def _statistics_table() -> str:
    corpus = {d.id: load_sentences(ANNOTATIONS / "bio", [d.id]) for d in DOCS}
    return format_statistics(corpus_statistics(corpus))


def test_cli_stats_prints_the_table(capsys):
    assert main(["corpus", "stats", "--annotations", str(ANNOTATIONS)]) == 0
    assert capsys.readouterr().out == _statistics_table() + "\n"


def test_readme_statistics_up_to_date():
    readme = (ANNOTATIONS / "README.md").read_text(encoding="utf-8")
    table = _statistics_table()
    assert table in readme, "annotations/README.md: paste the output of `antq-ner corpus stats` again"
    assert readme.count("| article |") == 1, "annotations/README.md: one statistics table only"


def test_statistics_totals():
    table = _statistics_table().splitlines()
    assert len(table) == 2 + len(DOCS) + 1
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table[2:]]
    totals = [sum(int(r[i]) for r in rows[:-1]) for i in range(1, len(rows[0]))]
    assert rows[-1] == ["**total**", *map(str, totals)]


def test_fixture_corpus_bio_is_up_to_date(tmp_path):
    build_corpus(FIXTURES / "corpus", out_dir=tmp_path)
    assert (tmp_path / "tiny.conll").read_bytes() == (FIXTURES / "corpus" / "bio" / "tiny.conll").read_bytes()


SYNTHETIC = ANNOTATIONS / "synthetic"
SYNTHETIC_DOCS = load_documents(SYNTHETIC / "documents.yaml")


def test_synthetic_corpus_is_registered_built_and_valid(tmp_path):
    assert len(SYNTHETIC_DOCS) >= 40 and all(d.synthetic and d.topic and not d.source for d in SYNTHETIC_DOCS)
    assert len({d.topic for d in SYNTHETIC_DOCS}) >= 10
    ids = {d.id for d in SYNTHETIC_DOCS}
    for folder in ("raw", "markup"):
        assert ids == {p.stem for p in (SYNTHETIC / folder).glob("*.txt")}, folder
    build_corpus(SYNTHETIC, out_dir=tmp_path)
    for name in sorted(p.name for p in tmp_path.glob("*.conll")):
        assert (tmp_path / name).read_bytes() == (SYNTHETIC / "bio" / name).read_bytes(), (
            f"annotations/synthetic/bio/{name} is stale: run `antq-ner corpus build --annotations annotations/synthetic`"
        )
    assert validate_corpus(SYNTHETIC / "bio") == []
    sentences = load_sentences(SYNTHETIC / "bio", sorted(ids))
    assert len(sentences) >= 450
    assert all(t in {s.label for x in sentences for s in bio_to_spans(x.tags)} for t in ENTITY_TYPES)


def test_synthetic_reports_are_never_held_out():
    import yaml

    splits = yaml.safe_load((REPO / "configs" / "splits.yaml").read_text(encoding="utf-8"))["splits"]
    synthetic = {d.id for d in SYNTHETIC_DOCS}
    assert not synthetic & {d.id for d in DOCS}
    for name, parts in splits.items():
        assert not synthetic & set(parts["train"] + parts["dev"] + parts["test"]), name


def test_readme_lists_both_corpora(capsys):
    readme = (ANNOTATIONS / "README.md").read_text(encoding="utf-8")
    assert main(["corpus", "stats", "--annotations", str(SYNTHETIC)]) == 0
    table = capsys.readouterr().out.strip()
    assert table.startswith("| topic | reports |") and table in readme, (
        "annotations/README.md: paste `antq-ner corpus stats --annotations annotations/synthetic` again"
    )


def test_corpus_tools_take_the_types_of_a_config(capsys):
    # the label set is a parameter, not a global: its types come first; the data's other types are
    # still counted after them, never dropped silently
    assert main(["corpus", "stats", "--annotations", str(ANNOTATIONS), "--labels", "PERSON,ORG"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header == "| article | sentences | tokens | PERSON | ORG | PROGRAM | QUANTITY | RANK |"
    # a corpus that uses five types is not valid for a config of two
    assert main(["corpus", "validate", "--annotations", str(ANNOTATIONS), "--labels", "PERSON,ORG"]) == 1
    assert "unknown label 'RANK'" in capsys.readouterr().err
