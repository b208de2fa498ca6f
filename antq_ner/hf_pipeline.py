"""A checkpoint in `transformers.pipeline("token-classification")`, read as the model was trained.

The model learnt one label per syllable, on the syllable's first subword. Given raw text, the
pipeline tokenises it its own way, and its aggregation strategies group subwords into words by
heuristics that split this tokenizer's words: a syllable such as `6.769` is read `▁` + `6.7` + `69`,
and `"first"` takes the lone `▁` for a word of its own (`[6].769`), `"simple"` labels pieces the
model never learnt a label on (`UBND tỉnh Bạc` + `L` + `iêu`). `pipeline_entities` feeds the
pipeline the project's syllables instead (`is_split_into_words=True`, one sentence at a time),
keeps every subword's label (`ignore_labels=[]`), and gives each syllable the label of its first
subword, as in training. What can still differ from `predict.py`'s encoder alone: a syllable takes
its most probable label where predict.py takes the best valid IOB2 sequence (`decoding.best_path`;
here an `I-X` that cannot continue an entity starts one, as conlleval reads it), and a sentence
longer than the model's positions is truncated where predict.py reads it in windows.

Needs a fast tokenizer (the bundled encoder's); PhoBERT's tokenizer is slow-only: use `predict.py`.
"""

from __future__ import annotations

from .bio import bio_to_spans, repair_tags
from .text import read_sentences

__all__ = ["pipeline_entities"]


def pipeline_entities(ner, text: str) -> list[dict]:
    """Entities of `text` (`{"type", "start", "end", "text", "score"}`, offsets into `text`, as
    predict.py writes them) from `pipeline("token-classification", model=<checkpoint>)` (no
    aggregation), fed each sentence's syllables (`text.read_sentences`)."""
    out = []
    for sentence in read_sentences(text):
        words = [t.text for t in sentence]
        word_at, pos = {}, 0  # a word's first character in " ".join(words), as the pipeline counts
        for k, word in enumerate(words):
            word_at[pos] = k
            pos += len(word) + 1
        first_piece: dict[int, dict] = {}
        for piece in ner([words], is_split_into_words=True, ignore_labels=[])[0]:  # a batch of one sentence
            k = word_at.get(piece["start"])
            if k is not None and (k not in first_piece or piece["index"] < first_piece[k]["index"]):
                first_piece[k] = piece
        # A word whose pieces were all cut off (a sentence beyond the model's positions) is O.
        tags = repair_tags([first_piece[k]["entity"] if k in first_piece else "O" for k in range(len(words))])
        for span in bio_to_spans(tags):
            start, end = sentence[span.start].start, sentence[span.end - 1].end
            score = sum(float(first_piece[k]["score"]) for k in range(span.start, span.end)) / (span.end - span.start)
            out.append({"type": span.label, "start": start, "end": end, "text": text[start:end], "score": round(score, 4)})
    return out
