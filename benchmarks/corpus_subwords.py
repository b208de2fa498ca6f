"""The corpus in each tokenizer's subwords: unknown-piece rate, subwords per syllable, longest sentence.

    python benchmarks/corpus_subwords.py [--phobert-tokenizer ../shared/phobert-tokenizer]

PhoBERT's real vocab.txt/bpe.codes (fed as the pipeline feeds them: pyvi words, old-style tones) and
the bundled multilingual-e5-small tokenizer (syllables as written), over the five reports' sentences
and the team's reports.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def measure(tokenizer, prep, sentences) -> list[str]:
    from antq_ner.data import SentenceEncoder
    from antq_ner.labels import bio_labels

    encoder = SentenceEncoder(tokenizer, bio_labels(["ORG"]), prep)
    pieces = unknown = longest = syllables = 0
    for s in sentences:
        features, _ = encoder.encode(list(s.tokens))
        ids = [i for f in features for i in f.input_ids[1:-1]]
        pieces += len(ids)
        syllables += len(s.tokens)
        unknown += ids.count(tokenizer.unk_token_id)
        longest = max(longest, len(ids) + 2)
    return [f"{len(sentences)}", f"{pieces / syllables:.2f}", f"{100 * unknown / pieces:.2f}%", str(longest)]


def main() -> None:
    from antq_ner.backbone import resolve_backbone
    from antq_ner.config import PreprocessingConfig
    from antq_ner.corpus import load_sentences
    from antq_ner.modeling import load_tokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phobert-tokenizer", default=str(REPO.parent / "shared" / "phobert-tokenizer"))
    args = parser.parse_args()
    corpora = {}
    for name, folder in (("five reports", REPO / "annotations" / "bio"),
                         ("team's reports", REPO / "annotations" / "synthetic" / "bio")):
        corpora[name] = load_sentences(folder, sorted(p.stem for p in folder.glob("*.conll")))
    tokenizers = {}
    if (Path(args.phobert_tokenizer) / "bpe.codes").is_file():
        tokenizers["PhoBERT (real vocab.txt/bpe.codes)"] = (load_tokenizer(args.phobert_tokenizer), PreprocessingConfig())
    else:
        print(f"skipping PhoBERT: no bpe.codes in {args.phobert_tokenizer}")
    e5 = PreprocessingConfig(tokenizer_input="syllables", segmenter="none", tone_normalization=False, max_subwords=512)
    tokenizers["multilingual-e5-small (trimmed)"] = (load_tokenizer(resolve_backbone("bundled:multilingual-e5-small")), e5)
    header = ["tokenizer", "corpus", "sentences", "subwords per syllable", "unknown pieces", "longest sentence (subwords)"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for tname, (tok, prep) in tokenizers.items():
        for cname, sentences in corpora.items():
            print("| " + " | ".join([tname, cname, *measure(tok, prep, sentences)]) + " |")


if __name__ == "__main__":
    main()
