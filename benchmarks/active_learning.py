"""Simulated active learning: does choosing sentences to annotate by model uncertainty beat random choice?

    python benchmarks/active_learning.py [--seeds 3] [--rounds 7] [--seed-size 50] [--batch 50]
        [--folds fold-ct07,fold-bac-lieu] [--out benchmarks/results/active_learning.json]
        [--plot docs/active_learning.png]

For each leave-one-article-out fold of configs/splits.yaml (`fold-*`): the unlabelled pool is the
sentences of the fold's train and dev articles plus every sentence of the team's 40 reports
(annotations/synthetic/bio, training data only); the test set is the fold's test article, never in
the pool. A seed set of `--seed-size` random sentences of the pool is labelled; then each of
`--rounds` rounds trains the CRF on the labelled set, scores it on the test article, and labels
`--batch` more sentences of the pool, chosen either

- `uncertainty`: lowest `sequence_confidence` (exp(MNLP)) of the CRF's best valid path per sentence
  (marginals → `ensemble.crf_distribution` → `decoding.best_path` → per-token probabilities), or
- `random`: uniformly at random.

Both strategies start from the same seed set for a given seed. Per round, strategy and seed the five
folds' test predictions are pooled into one strict IOB2 seqeval F1 (`scoring.seqeval_scores`); the
table gives mean ± sd (sample sd) over seeds, and the difference uncertainty − random as the mean ± sd
of the per-seed paired differences. The ceiling is the CRF trained on each fold's whole pool, pooled
the same way.

The learner is the CRF of `baselines.train_crf` (same features and hyper-parameters), not the neural
encoder: one 5-fold pass of the encoder takes about 23 minutes on the project's 2 CPU cores, and this
simulation trains hundreds of models. The shipped checkpoint pools the encoder with this same CRF.
Each sentence's features (pyvi segmentation) are computed once and reused across rounds: the CRF is
`baselines.fit_crf`, what `train_crf` fits, on `CrfTagger.features`.

Prints the table; writes every raw figure as JSON (`--out`) and the plot of F1 against labelled
sentences (`--plot`).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

STRATEGIES = ("uncertainty", "random")


def predict_tags(crf, features) -> list[list[str]]:
    """`CrfTagger.predict` on precomputed features."""
    from antq_ner.bio import repair_tags

    return [repair_tags(crf.predict_single(f)) for f in features]


def confidences(crf, features, labels) -> np.ndarray:
    """`sequence_confidence` of the CRF's best valid path, one per sentence."""
    from antq_ner.decoding import best_path
    from antq_ner.ensemble import crf_distribution
    from antq_ner.uncertainty import sequence_confidence

    out = np.empty(len(features))
    for i, f in enumerate(features):
        _, probs = best_path(crf_distribution(crf.predict_marginals_single(f), labels), labels)
        out[i] = sequence_confidence([probs])
    return out


def pooled_f1(gold_by_fold, pred_by_fold) -> float:
    from antq_ner.scoring import seqeval_scores

    gold = [g for fold in gold_by_fold for g in fold]
    pred = [p for fold in pred_by_fold for p in fold]
    return seqeval_scores(gold, pred, strict=True)["overall"]["f1"]


def simulate_fold(pool_x, pool_y, test_x, rounds, seed_size, batch, seed, fold_index, labels):
    """{strategy: {'pred': [round → test tags], 'size': [...], 'picked': [indices in labelling order]}}."""
    from antq_ner.baselines import fit_crf

    n = len(pool_x)
    seed_rng = np.random.default_rng([seed, fold_index, 0])
    seed_set = [int(i) for i in seed_rng.permutation(n)[: min(seed_size, n)]]
    out = {}
    round0 = None  # the seed-set model is the same for both strategies: train it once
    for strategy in STRATEGIES:
        pick_rng = np.random.default_rng([seed, fold_index, 1])
        labelled = list(seed_set)
        preds, sizes = [], []
        for r in range(rounds):
            if r == 0 and round0 is not None:
                crf, pred = round0
            else:
                crf = fit_crf([pool_x[i] for i in labelled], [pool_y[i] for i in labelled])
                pred = predict_tags(crf, test_x)
                if r == 0:
                    round0 = (crf, pred)
            preds.append(pred)
            sizes.append(len(labelled))
            if r == rounds - 1:
                break
            chosen = set(labelled)
            rest = np.array([i for i in range(n) if i not in chosen])
            if len(rest) == 0:
                continue
            k = min(batch, len(rest))
            if strategy == "uncertainty":
                conf = confidences(crf, [pool_x[i] for i in rest], labels)
                order = np.lexsort((rest, conf))  # least confident first; ties by pool index
                new = rest[order[:k]]
            else:
                new = pick_rng.choice(rest, size=k, replace=False)
            labelled.extend(int(i) for i in new)
        out[strategy] = {"pred": preds, "size": sizes, "picked": labelled}
    return out


def mean_sd(values) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def plot(path: Path, sizes, summary, ceiling, title) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for strategy, color in zip(STRATEGIES, ("tab:blue", "tab:orange")):
        m = np.array([row[strategy]["mean"] for row in summary])
        s = np.array([row[strategy]["sd"] for row in summary])
        ax.plot(sizes, m, marker="o", color=color, label=f"{strategy} (mean over seeds)")
        ax.fill_between(sizes, m - s, m + s, color=color, alpha=0.2, linewidth=0)
    ax.axhline(ceiling, color="black", linestyle="--", linewidth=1, label=f"whole pool ({ceiling:.3f})")
    ax.set_xlabel("labelled sentences (per fold)")
    ax.set_ylabel("strict F1, test articles pooled over folds")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    import yaml

    from antq_ner.baselines import CrfTagger, fit_crf
    from antq_ner.bio import bio_to_spans
    from antq_ner.corpus import load_sentences
    from antq_ner.labels import ENTITY_TYPES, bio_labels
    from antq_ner.scoring import seqeval_scores

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds, 0..N-1 (default 3)")
    parser.add_argument("--rounds", type=int, default=7,
                        help="models trained per strategy and fold (default 7)")
    parser.add_argument("--seed-size", type=int, default=50,
                        help="random sentences labelled first (default 50)")
    parser.add_argument("--batch", type=int, default=50, help="sentences labelled per round (default 50)")
    parser.add_argument("--folds", help="comma-separated subset of the fold-* splits (default: all)")
    parser.add_argument("--splits", default=str(REPO / "configs" / "splits.yaml"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "active_learning.json"))
    parser.add_argument("--plot", default=str(REPO / "docs" / "active_learning.png"))
    args = parser.parse_args()
    if args.seeds < 1 or args.rounds < 1 or args.seed_size < 1 or args.batch < 1:
        parser.error("--seeds, --rounds, --seed-size and --batch must be at least 1")
    started = time.perf_counter()

    splits = yaml.safe_load(Path(args.splits).read_text(encoding="utf-8"))["splits"]
    all_folds = [name for name in splits if name.startswith("fold-")]
    folds = args.folds.split(",") if args.folds else all_folds
    unknown = [f for f in folds if f not in all_folds]
    if unknown:
        parser.error(f"--folds: {', '.join(unknown)} not in {args.splits} (folds: {', '.join(all_folds)})")

    bio_dir, team_dir = REPO / "annotations" / "bio", REPO / "annotations" / "synthetic" / "bio"
    team = [s for s in load_sentences(team_dir, sorted(p.stem for p in team_dir.glob("*.conll"))) if s.tokens]
    articles = sorted({a for name in folds for part in splits[name].values() for a in part})
    real = {a: [s for s in load_sentences(bio_dir, [a]) if s.tokens] for a in articles}
    labels = bio_labels(ENTITY_TYPES)

    # Features once per sentence (the pyvi segmentation is the slow part of featurising).
    tagger = CrfTagger(crf=None)
    feats = {}
    for s in [*team, *(s for v in real.values() for s in v)]:
        feats[s.sent_id] = tagger.features(s.tokens)
    print(f"features of {len(feats)} sentences: {time.perf_counter() - started:.1f} s")

    fold_data = []
    for name in folds:
        part = splits[name]
        pool = [s for a in (*part["train"], *part["dev"]) for s in real[a]] + team
        test = [s for a in part["test"] for s in real[a]]
        pool_texts = {s.tokens for s in pool}
        fold_data.append({
            "name": name,
            "pool": pool,
            "pool_x": [feats[s.sent_id] for s in pool],
            "pool_y": [list(s.tags) for s in pool],
            "test": test,
            "test_x": [feats[s.sent_id] for s in test],
            "gold": [list(s.tags) for s in test],
            "entities": [len(bio_to_spans(s.tags)) for s in pool],
            "real_in_pool": len(pool) - len(team),
            "test_sentences_also_in_pool": sum(1 for s in test if s.tokens in pool_texts),
        })
    print("pools: " + ", ".join(f"{d['name']} {len(d['pool'])} ({d['real_in_pool']} from articles; "
                                f"test {len(d['test'])})" for d in fold_data))

    # Ceiling: the whole pool.
    t = time.perf_counter()
    ceiling_pred = []
    for d in fold_data:
        ceiling_pred.append(predict_tags(fit_crf(d["pool_x"], d["pool_y"]), d["test_x"]))
    ceiling = pooled_f1([d["gold"] for d in fold_data], ceiling_pred)
    ceiling_per_fold = {d["name"]: seqeval_scores(d["gold"], p, strict=True)["overall"]["f1"]
                        for d, p in zip(fold_data, ceiling_pred)}
    print(f"whole-pool CRF: pooled strict F1 {ceiling:.3f} ({time.perf_counter() - t:.1f} s)")

    runs = []  # per seed
    for seed in range(args.seeds):
        t = time.perf_counter()
        per_fold = [
            simulate_fold(d["pool_x"], d["pool_y"], d["test_x"], args.rounds, args.seed_size, args.batch,
                          seed, i, labels)
            for i, d in enumerate(fold_data)
        ]
        run = {"seed": seed, "strategies": {}}
        for strategy in STRATEGIES:
            f1 = [
                pooled_f1([d["gold"] for d in fold_data], [pf[strategy]["pred"][r] for pf in per_fold])
                for r in range(args.rounds)
            ]
            run["strategies"][strategy] = {
                "f1": f1,
                "sizes_per_fold": {d["name"]: pf[strategy]["size"] for d, pf in zip(fold_data, per_fold)},
                # how many of the labelled sentences come from the real articles (not the team's reports)
                "real_labelled_per_fold": {
                    d["name"]: [sum(1 for i in pf[strategy]["picked"][:n] if i < d["real_in_pool"])
                                for n in pf[strategy]["size"]]
                    for d, pf in zip(fold_data, per_fold)
                },
                # what the labelled sets hold: annotation effort is closer to syllables than to sentences
                "syllables_per_fold": {
                    d["name"]: [sum(len(d["pool"][i].tokens) for i in pf[strategy]["picked"][:n])
                                for n in pf[strategy]["size"]]
                    for d, pf in zip(fold_data, per_fold)
                },
                "entities_per_fold": {
                    d["name"]: [sum(d["entities"][i] for i in pf[strategy]["picked"][:n])
                                for n in pf[strategy]["size"]]
                    for d, pf in zip(fold_data, per_fold)
                },
                "f1_per_fold": {
                    d["name"]: [seqeval_scores(d["gold"], p, strict=True)["overall"]["f1"]
                                for p in pf[strategy]["pred"]]
                    for d, pf in zip(fold_data, per_fold)
                },
                "picked_per_fold": {d["name"]: [d["pool"][i].sent_id for i in pf[strategy]["picked"]]
                                    for d, pf in zip(fold_data, per_fold)},
            }
        runs.append(run)
        print(f"seed {seed}: {time.perf_counter() - t:.0f} s; final F1 "
              + ", ".join(f"{s} {run['strategies'][s]['f1'][-1]:.3f}" for s in STRATEGIES))

    sizes_all = {
        tuple(v) for run in runs for st in run["strategies"].values() for v in st["sizes_per_fold"].values()
    }
    sizes = list(next(iter(sizes_all))) if len(sizes_all) == 1 else None
    summary = []
    for r in range(args.rounds):
        row = {"round": r + 1}
        for strategy in STRATEGIES:
            m, s = mean_sd([run["strategies"][strategy]["f1"][r] for run in runs])
            row[strategy] = {"mean": m, "sd": s}
        m, s = mean_sd([run["strategies"]["uncertainty"]["f1"][r] - run["strategies"]["random"]["f1"][r]
                        for run in runs])
        row["difference"] = {"mean": m, "sd": s}
        for strategy in STRATEGIES:
            row[f"{strategy}_real_share"] = float(np.mean([
                run["strategies"][strategy]["real_labelled_per_fold"][d["name"]][r]
                / run["strategies"][strategy]["sizes_per_fold"][d["name"]][r]
                for run in runs for d in fold_data
            ]))
            for what in ("syllables", "entities"):
                row[f"{strategy}_{what}"] = float(np.mean([
                    run["strategies"][strategy][f"{what}_per_fold"][d["name"]][r]
                    for run in runs for d in fold_data
                ]))
        summary.append(row)
    wall = time.perf_counter() - started

    print()
    print(f"Strict F1, {len(folds)} test articles pooled; mean ± sd over {args.seeds} seeds; "
          f"difference = uncertainty − random (mean ± sd of per-seed differences)")
    print()
    print("| round | labelled sentences | uncertainty | random | difference |")
    print("|---|---|---|---|---|")
    for r, row in enumerate(summary):
        by_fold = runs[0]["strategies"]["random"]["sizes_per_fold"]
        size = str(sizes[r]) if sizes else "/".join(str(by_fold[d["name"]][r]) for d in fold_data)
        u, rd, df = row["uncertainty"], row["random"], row["difference"]
        print(f"| {r + 1} | {size} | {u['mean']:.3f} ± {u['sd']:.3f} | {rd['mean']:.3f} ± {rd['sd']:.3f} "
              f"| {df['mean']:+.3f} ± {df['sd']:.3f} |")
    pools = "/".join(str(len(d["pool"])) for d in fold_data)
    print(f"| whole pool | {pools} | {ceiling:.3f} | {ceiling:.3f} | |")
    print()
    print("What the labelled sets hold, per fold (mean over seeds and folds), uncertainty / random:")
    print()
    print("| round | labelled sentences | syllables | entities | share from the five articles |")
    print("|---|---|---|---|---|")
    for r, row in enumerate(summary):
        size = str(sizes[r]) if sizes else "-"
        print(f"| {r + 1} | {size} | {row['uncertainty_syllables']:.0f} / {row['random_syllables']:.0f} "
              f"| {row['uncertainty_entities']:.0f} / {row['random_entities']:.0f} "
              f"| {row['uncertainty_real_share']:.2f} / {row['random_real_share']:.2f} |")
    print()
    print("Per test article (mean over seeds), last round and whole pool:")
    print()
    print("| fold | test sentences | uncertainty | random | whole pool |")
    print("|---|---|---|---|---|")
    for d in fold_data:
        u = np.mean([run["strategies"]["uncertainty"]["f1_per_fold"][d["name"]][-1] for run in runs])
        rd = np.mean([run["strategies"]["random"]["f1_per_fold"][d["name"]][-1] for run in runs])
        print(f"| {d['name']} | {len(d['test'])} | {u:.3f} | {rd:.3f} | {ceiling_per_fold[d['name']]:.3f} |")
    print(f"\nwall time {wall:.0f} s")

    result = {
        "settings": {"seeds": list(range(args.seeds)), "rounds": args.rounds, "seed_size": args.seed_size,
                     "batch": args.batch, "folds": folds, "crf": "baselines.fit_crf defaults", "segmenter": "pyvi",
                     "labels": labels},
        "folds": [{"name": d["name"], "pool": len(d["pool"]), "pool_from_articles": d["real_in_pool"],
                   "pool_from_team_reports": len(d["pool"]) - d["real_in_pool"],
                   "test_articles": splits[d["name"]]["test"], "test_sentences": len(d["test"]),
                   "test_sentences_also_in_pool": d["test_sentences_also_in_pool"]} for d in fold_data],
        "ceiling_f1": ceiling,
        "ceiling_f1_per_fold": ceiling_per_fold,
        "labelled_sizes": sizes,
        "summary": summary,
        "runs": runs,
        "wall_s": wall,
        "machine": {"python": platform.python_version(),
                    "processor": platform.processor() or platform.machine()},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    if sizes:
        plot(Path(args.plot), sizes, summary, ceiling,
             f"CRF, {len(folds)} folds pooled, {args.seeds} seeds (band: ± sd over seeds)")
        print(f"wrote {out} and {args.plot}")
    else:
        print(f"wrote {out}; no plot (the labelled-set sizes differ between folds: a pool ran out)")


if __name__ == "__main__":
    main()
