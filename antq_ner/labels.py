"""The label inventory: the corpus's entity types and the IOB2 labels and id maps built from them.

The types of a run are the config's `data.labels` (by default `ENTITY_TYPES`); everything that
needs labels (the model's `id2label`, the encoder, the corpus tools) builds them here.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ENTITY_TYPES", "bio_labels", "label_maps"]

ENTITY_TYPES = ("PERSON", "RANK", "ORG", "PROGRAM", "QUANTITY")  # annotations/GUIDELINES.md


def bio_labels(types: Sequence[str]) -> list[str]:
    """`O` then `B-X`, `I-X` for each type, in the given order."""
    return ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]


def label_maps(types: Sequence[str]) -> tuple[dict[int, str], dict[str, int]]:
    """(id2label, label2id) of `bio_labels(types)`, as a model config stores them."""
    labels = bio_labels(types)
    return dict(enumerate(labels)), {label: i for i, label in enumerate(labels)}
