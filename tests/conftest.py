"""Shared paths and the tiny fixture corpus."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ANNOTATIONS = REPO / "annotations"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/corpus (raw/, markup/, bio/, documents.yaml)."""
    dest = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", dest)
    return dest
