"""How much of the five reports the team's reports repeat (a leakage check for extra training data).

    python benchmarks/corpus_overlap.py [--n 10]

Prints the share of the reports' n-syllable sequences (lower-cased) that also occur in
annotations/synthetic, the shared sequences, and for each report the mentions found in the team's
reports but in no other of the five reports (what extra training data could teach about it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    from antq_ner.bio import bio_to_spans
    from antq_ner.corpus import load_sentences

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="sequence length in syllables (default 10)")
    n = parser.parse_args().n

    def load(folder: Path):
        return load_sentences(folder, sorted(p.stem for p in folder.glob("*.conll")))

    real, team = load(REPO / "annotations" / "bio"), load(REPO / "annotations" / "synthetic" / "bio")

    def grams(sentences) -> set[tuple[str, ...]]:
        out = set()
        for s in sentences:
            t = [x.lower() for x in s.tokens]
            out.update(tuple(t[i : i + n]) for i in range(len(t) - n + 1))
        return out

    real_grams, shared = grams(real), grams(real) & grams(team)
    print(f"{len(shared)} of the reports' {len(real_grams)} {n}-syllable sequences occur in the team's reports")
    for g in sorted(shared):
        print("  ", " ".join(g))

    def mentions(sentences):
        return [(" ".join(s.tokens[m.start : m.end]), m.label, s.doc_id) for s in sentences for m in bio_to_spans(s.tags)]

    team_mentions = {(t, label) for t, label, _ in mentions(team)}
    real_mentions = mentions(real)
    for doc in sorted({d for _, _, d in real_mentions}):
        others = {(t, label) for t, label, d in real_mentions if d != doc}
        only = sorted({(t, label) for t, label, d in real_mentions if d == doc and (t, label) in team_mentions} - others)
        print(f"{doc}: mentions only the team's reports also have: {only}")


if __name__ == "__main__":
    main()
