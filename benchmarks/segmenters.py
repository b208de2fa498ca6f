"""Compare the word segmenters on the corpus: speed, and how many gold entities survive segmentation.

A segmenter word that crosses an entity boundary makes that entity impossible to predict exactly
(labels are projected to words and back). The oracle F1 scores gold tags projected to words and
back against the gold: the ceiling that segmenter puts on any model.

    python benchmarks/segmenters.py [--bio-dir annotations/bio]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from antq_ner.bio import bio_to_spans, read_conll
from antq_ner.scoring import seqeval_scores
from antq_ner.segment import get_segmenter, syllable_to_word_tags, word_spans, words_to_syllable_tags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bio-dir", default="annotations/bio")
    args = parser.parse_args()
    sentences = [s for p in sorted(Path(args.bio_dir).glob("*.conll")) for s in read_conll(p)]
    n_syllables = sum(len(s.tokens) for s in sentences)
    n_entities = sum(len(bio_to_spans(s.tags)) for s in sentences)
    print(f"{len(sentences)} sentences, {n_syllables} syllables, {n_entities} entities\n")
    print("| segmenter | words | syllables/word | entities cut by a word | oracle F1 | time (s) | syllables/s |")
    print("|---|---|---|---|---|---|---|")
    for name in ("none", "pyvi", "underthesea"):
        if name != "none":
            get_segmenter(name)("khởi động")  # load models outside the timing
        start = time.perf_counter()
        spans = [word_spans(s.tokens, name) for s in sentences]
        elapsed = time.perf_counter() - start
        words = sum(len(sp) for sp in spans)
        cut = 0
        for s, sp in zip(sentences, spans):
            starts = {a for a, _ in sp}
            ends = {b for _, b in sp}
            cut += sum(1 for e in bio_to_spans(s.tags) if e.start not in starts or e.end not in ends)
        oracle = [words_to_syllable_tags(syllable_to_word_tags(s.tags, sp), sp) for s, sp in zip(sentences, spans)]
        f1 = seqeval_scores([s.tags for s in sentences], oracle)["overall"]["f1"]
        print(
            f"| {name} | {words} | {n_syllables / words:.2f} | {cut} ({cut / n_entities:.1%}) | {f1:.3f} "
            f"| {elapsed:.2f} | {n_syllables / max(elapsed, 1e-9):,.0f} |"
        )


if __name__ == "__main__":
    main()
