"""The label inventory: the corpus's entity types and the IOB2 labels built from them.

The types of a run are the config's `data.labels` (by default `ENTITY_TYPES`); everything that
needs labels (the model, whose `id2label` is their order, the encoder, the corpus tools) takes
them from `bio_labels`.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ENTITY_TYPES", "bio_labels", "entity_types"]

ENTITY_TYPES = ("PERSON", "RANK", "ORG", "PROGRAM", "QUANTITY")  # annotations/GUIDELINES.md


def bio_labels(types: Sequence[str]) -> list[str]:
    """`O` then `B-X`, `I-X` for each type, in the given order."""
    return ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]


def entity_types(labels: Sequence[str]) -> tuple[str, ...]:
    """The entity types of IOB2 `labels` (a checkpoint's `id2label` values), in the order of their `B-` labels."""
    return tuple(label[2:] for label in labels if label.startswith("B-"))
