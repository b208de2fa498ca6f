"""Memory of `predict.py` as the number of documents grows (not a test).

    python benchmarks/predict_stream.py --model models/offline [--docs 1000 100000] [--threads N]

For each count, writes a JSONL of that many documents to a temporary folder (never committed):
each document is 1 to 5 sentences of the five reports, drawn at random (seed 0), so the texts are
real but the corpus is as large as asked. Runs `predict.py --model M DOCS.jsonl -o OUT` in a child
process and reports its wall time, documents/s and peak resident memory (the child's maxrss), and
the peak's ratio to the first count's. The output is checked: one line per document, in order.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from antq_ner.bio import read_conll


def write_corpus(path: Path, n_documents: int, seed: int = 0) -> None:
    sentences = [s.text for p in sorted((REPO / "annotations" / "bio").glob("*.conll")) for s in read_conll(p)]
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n_documents):
            text = " ".join(rng.choice(sentences) for _ in range(rng.randint(1, 5)))
            f.write(json.dumps({"id": f"doc-{i}", "text": text}, ensure_ascii=False) + "\n")


def run(model: str, n_documents: int, threads: int | None, folder: Path) -> dict:
    docs, out = folder / f"docs-{n_documents}.jsonl", folder / f"out-{n_documents}.jsonl"
    write_corpus(docs, n_documents)
    # predict.py in a fresh interpreter that reports its own peak memory when it exits
    wrapper = (
        "import resource, runpy, sys\n"
        "sys.argv = sys.argv[1:]\n"
        "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "finally:\n    print('MAXRSS_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    cmd = [sys.executable, "-c", wrapper, str(REPO / "predict.py"), "--model", model, str(docs), "-o", str(out)]
    if threads:
        cmd += ["--threads", str(threads)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, check=False, cwd=REPO, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"predict.py failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    peak_kib = int(proc.stderr.rsplit("MAXRSS_KIB", 1)[1].split()[0])
    ids = [json.loads(line)["id"] for line in out.open(encoding="utf-8")]
    assert ids == [f"doc-{i}" for i in range(n_documents)], "output lines out of order or missing"
    return {"documents": n_documents, "seconds": seconds, "docs_per_s": n_documents / seconds, "peak_mib": peak_kib / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--docs", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.docs):
            rows.append(run(args.model, n, args.threads, Path(tmp)))
            r = rows[-1]
            print(f"{r['documents']:>8} documents: {r['seconds']:8.1f} s, {r['docs_per_s']:7.1f} docs/s, "
                  f"peak RSS {r['peak_mib']:7.1f} MiB ({r['peak_mib'] / rows[0]['peak_mib']:.2f}x the first)", flush=True)


if __name__ == "__main__":
    main()
