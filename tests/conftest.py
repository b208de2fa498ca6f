"""Shared paths and the tiny fixture corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Nothing in the tests may reach the network: the hub is unreachable here and in CI.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
# A test that uses one of these fixtures trains a model (seconds to minutes): it is `integration`,
# like the tests that call train() themselves (marked where they are written).
TRAINING_FIXTURES = {"tiny_checkpoint", "crf_checkpoint", "e5_backbone"}
ANNOTATIONS = REPO / "annotations"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/corpus (raw/, markup/, bio/, documents.yaml)."""
    dest = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", dest)
    return dest


def tiny_config_overrides(out_dir: Path, run_name: str = "tiny") -> list[str]:
    """`--set` overrides that shrink configs/scratch.yaml to a few sentences and epochs."""
    return [
        f"output_dir={out_dir}",
        f"run_name={run_name}",
        "data.max_sentences=6",
        "training.epochs=2",
        "training.batch_size=4",
        "training.logging_steps=1",
        "model.offline.bpe_merges=300",
        "model.offline.hidden_size=32",
        "model.offline.intermediate_size=64",
        f"data.bio_dir={ANNOTATIONS / 'bio'}",
        f"data.splits_file={REPO / 'configs' / 'splits.yaml'}",
    ]


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint of the offline model trained for two epochs on a few sentences (a few seconds)."""
    from antq_ner.config import load_config
    from antq_ner.training import train

    out = tmp_path_factory.mktemp("models")
    train(load_config(REPO / "configs" / "scratch.yaml", tiny_config_overrides(out)))
    return out / "tiny"


@pytest.fixture(scope="session")
def e5_weights():
    """The bundled multilingual-e5-small file, parsed (about 2 s; 500 MB of fp32 arrays)."""
    from antq_ner.backbone import find_bundled_file, read_e5

    return read_e5(find_bundled_file("multilingual-e5-small"))


@pytest.fixture(scope="session")
def e5_backbone(tmp_path_factory) -> Path:
    """The bundled backbone converted once per session (trimmed vocabulary), as `bundled:` resolves it."""
    from antq_ner.backbone import resolve_backbone

    root = tmp_path_factory.mktemp("backbones")
    return Path(resolve_backbone("bundled:multilingual-e5-small", root))


def corpus_texts() -> list[str]:
    """Every sentence of the annotated corpus and every raw report, as text."""
    from antq_ner.corpus import load_sentences

    docs = [p.stem for p in sorted((ANNOTATIONS / "bio").glob("*.conll"))]
    sentences = load_sentences(ANNOTATIONS / "bio", docs)
    raw = [p.read_text(encoding="utf-8") for p in sorted((ANNOTATIONS / "raw").glob("*.txt"))]
    return [s.text for s in sentences] + raw


def most_probable_entities(tagger, text: str) -> set[tuple[int, int, str]]:
    """`(start, end, type)` of the encoder's most probable label per syllable, repaired as conlleval
    reads it: what `hf_pipeline.pipeline_entities` should give for a checkpoint whose words are
    syllables (predict.py decodes the best valid sequence instead)."""
    from antq_ner.bio import bio_to_spans, repair_tags
    from antq_ner.text import read_sentences

    sentences = read_sentences(text)
    entities = set()
    for sentence, (probs, spans) in zip(sentences, tagger.word_distributions([[t.text for t in s] for s in sentences]),
                                        strict=True):
        assert all(end - start == 1 for start, end in spans), "a checkpoint whose words are syllables"
        for span in bio_to_spans(repair_tags([tagger.labels[i] for i in probs.argmax(axis=1)])):
            entities.add((sentence[span.start].start, sentence[span.end - 1].end, span.label))
    return entities
