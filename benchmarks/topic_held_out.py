"""Topic-held-out check over every topic of the team's reports, with the CRF baseline.

For each topic of `annotations/synthetic/documents.yaml`: train the CRF (with the word features of
the main job's `model.crf_segmenter`, as the shipped system's) on the five reports and the team's reports of every other topic, tag the topic's
reports, score strict F1 (seqeval, IOB2). Both sides are text the team wrote: this measures transfer
to a topic the training text never covered, not accuracy on real reports.

    python benchmarks/topic_held_out.py [--write-splits configs/synthetic-topics.yaml] [--json out.json]

`--write-splits` writes one `fold-<topic>` split per topic (test: the topic; dev: the next topic;
train: the rest), so that the encoder can be checked the same way with `evaluate.py --cv` (command
at the top of that file; about 5 minutes of training per topic on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml
from seqeval.metrics import f1_score
from seqeval.scheme import IOB2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from antq_ner.baselines import CrfTagger, fit_crf
from antq_ner.bio import read_conll
from antq_ner.config import load_config
from antq_ner.io_utils import atomic_write_text

SPLITS_HEADER = """\
# Topic-held-out check inside the team's reports (annotations/synthetic/bio), one fold per topic:
# train on the other topics (plus the five reports, via data.extra_train_dir: annotations/bio), choose
# the epoch on the next topic, test on a topic never seen in training. Text the team wrote on both
# sides: it measures transfer across topics, not accuracy on real reports. Written by
# benchmarks/topic_held_out.py --write-splits (which also scores the CRF on every fold). Run as:
#   python evaluate.py --cv --config configs/offline.yaml --set data.bio_dir=annotations/synthetic/bio \\
#     --set data.splits_file=configs/synthetic-topics.yaml --set data.extra_train_dir=annotations/bio \\
#     --allow-seen [--folds fold-arrests-and-case-reports,...]
#   (--allow-seen: photo credits repeat across the team's reports; the repeats are listed in metrics.json)
"""


def slug(topic: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-")


def topic_splits(documents: list[dict]) -> dict[str, dict[str, list[str]]]:
    by_topic: dict[str, list[str]] = {}
    for doc in documents:
        by_topic.setdefault(doc["topic"], []).append(doc["id"])
    topics = list(by_topic)
    splits = {}
    for i, topic in enumerate(topics):
        dev = topics[(i + 1) % len(topics)]
        splits[f"fold-{slug(topic)}"] = {
            "train": [d for t in topics if t not in (topic, dev) for d in by_topic[t]],
            "dev": by_topic[dev],
            "test": by_topic[topic],
            "topic": topic,
        }
    return splits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotations", default=str(ROOT / "annotations" / "synthetic"))
    parser.add_argument("--reports", default=str(ROOT / "annotations" / "bio"), help="the five reports, always in training")
    parser.add_argument("--write-splits", help="write the per-topic folds as a splits file here")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    folder = Path(args.annotations)
    documents = yaml.safe_load((folder / "documents.yaml").read_text(encoding="utf-8"))["documents"]
    splits = topic_splits(documents)
    if args.write_splits:
        body = {"splits": {k: {p: v[p] for p in ("train", "dev", "test")} for k, v in splits.items()}}
        atomic_write_text(Path(args.write_splits), SPLITS_HEADER + yaml.safe_dump(body, allow_unicode=True, sort_keys=False))
    segmenter = load_config(ROOT / "configs" / "offline.yaml").model.crf_segmenter
    tagger = CrfTagger(crf=None, segmenter=segmenter)
    team = {d["id"]: [s for s in read_conll(folder / "bio" / f"{d['id']}.conll") if s.tokens] for d in documents}
    reports = [s for p in sorted(Path(args.reports).glob("*.conll")) for s in read_conll(p) if s.tokens]
    feats = {id(s): tagger.features(s.tokens) for s in reports + [s for v in team.values() for s in v]}
    rows, all_gold, all_pred = [], [], []
    for split in splits.values():
        train = reports + [s for d in split["train"] + split["dev"] for s in team[d]]
        tagger.crf = fit_crf([feats[id(s)] for s in train], [list(s.tags) for s in train])
        test = [s for d in split["test"] for s in team[d]]
        pred = [list(p) for p in tagger.crf.predict([feats[id(s)] for s in test])]
        gold = [list(s.tags) for s in test]
        all_gold += gold
        all_pred += pred
        f1 = f1_score(gold, pred, mode="strict", scheme=IOB2) * 100
        mentions = sum(t.startswith("B-") for g in gold for t in g)
        rows.append({"topic": split["topic"], "reports": len(split["test"]), "sentences": len(test),
                     "mentions": mentions, "crf_strict_f1": round(f1, 1)})
        print(f"{split['topic']}: {f1:.1f}", file=sys.stderr)
    pooled = f1_score(all_gold, all_pred, mode="strict", scheme=IOB2) * 100
    print(f"| topic held out | reports | sentences | mentions | CRF ({segmenter} words) strict F1 |")
    print("|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: r["crf_strict_f1"]):
        print(f"| {r['topic']} | {r['reports']} | {r['sentences']} | {r['mentions']} | {r['crf_strict_f1']:.1f} |")
    print(f"| **pooled over the {len(rows)} topics** | {sum(r['reports'] for r in rows)} | "
          f"{sum(r['sentences'] for r in rows)} | {sum(r['mentions'] for r in rows)} | **{pooled:.1f}** |")
    if args.json:
        atomic_write_text(Path(args.json), json.dumps({"topics": rows, "pooled": pooled}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
