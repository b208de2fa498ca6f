"""The whole `predict.py` process, fp32 against int8 made at load and int8 made once (`antq-ner export`).

    python benchmarks/predict_int8_process.py --model models/offline [--repeats 2] [--threads 2]

Each row runs `predict.py --model MODEL annotations/synthetic/raw -o OUT` (the team's 40 reports) as
a fresh process, as a user runs it: interpreter start, imports, loading, tagging, writing. Wall time
is the best of `--repeats` runs; peak memory is the process's maximum resident set (`os.wait4`).
Ratios are against fp32 in the same run; agreement is the share of fp32's entities (type and
offsets) the row gives too, and of its own that fp32 gives. The int8 model made once is written
into a copy of the checkpoint in a temporary folder (the checkpoint itself is left alone).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(model: Path, precision: str, out: Path, threads: int) -> tuple[float, int]:
    """(wall seconds, peak RSS in MiB) of one predict.py process."""
    argv = [sys.executable, str(REPO / "predict.py"), "--model", str(model), str(REPO / "annotations" / "synthetic" / "raw"),
            "-o", str(out), "--precision", precision, "--threads", str(threads)]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:  # a file, not a pipe nobody reads while waiting
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            sys.exit(f"predict.py --precision {precision} failed: {err.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss // 1024  # Linux: kilobytes


def entities(path: Path) -> set[tuple]:
    return {(row["id"], e["start"], e["end"], e["type"]) for line in path.read_text(encoding="utf-8").splitlines()
            for row in [json.loads(line)] for e in row["entities"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path, help="a checkpoint folder, e.g. models/offline")
    parser.add_argument("--repeats", type=int, default=2, help="runs per row; the best is kept (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="predict.py --threads (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        def copy(name: str) -> Path:  # the model and its records, without an earlier export
            shutil.copytree(args.model, tmp / name, ignore=shutil.ignore_patterns("eval", "checkpoints", "onnx"))
            return tmp / name

        once = copy("checkpoint")
        started = time.perf_counter()
        # in its own process: a child forked from a large parent would report the parent's memory as its peak
        subprocess.run([str(Path(sys.executable).parent / "antq-ner"), "export", "--precision", "int8", str(once)],
                       check=True, stdout=subprocess.DEVNULL)
        export_s = time.perf_counter() - started
        rows = [("fp32", args.model, "fp32"), ("int8, made at load", copy("plain"), "int8"),
                ("int8, made once (antq-ner export)", once, "int8")]
        results = []
        for name, model, precision in rows:
            out = tmp / f"{precision}-{len(results)}.jsonl"
            runs = [run(model, precision, out, args.threads) for _ in range(args.repeats)]
            results.append((name, min(w for w, _ in runs), max(m for _, m in runs), entities(out)))
    fp32_wall, fp32_rss, fp32_entities = results[0][1], results[0][2], results[0][3]
    print(f"antq-ner export --precision int8: {export_s:.1f} s (once)\n")
    print("| predict.py process | wall (s) | vs fp32 | peak RSS (MiB) | vs fp32 | fp32's entities kept | its entities in fp32 |")
    print("|---|---|---|---|---|---|---|")
    for name, wall, rss, ents in results:
        kept = len(ents & fp32_entities) / len(fp32_entities)
        own = len(ents & fp32_entities) / len(ents) if ents else 1.0
        print(f"| {name} | {wall:.2f} | {fp32_wall / wall:.2f}x faster | {rss} | {rss / fp32_rss:.2f}x | "
              f"{kept:.2%} | {own:.2%} |")
    print(f"\n{len(fp32_entities)} entities in fp32; best of {args.repeats} runs, --threads {args.threads}")


if __name__ == "__main__":
    main()
