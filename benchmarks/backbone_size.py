"""Full vs trimmed vocabulary of the bundled backbone: size on disk, load time, peak memory, tokenization.

    python benchmarks/backbone_size.py

Converts `bundled:multilingual-e5-small` twice into a temporary folder (full 250k-piece vocabulary,
and trimmed to the pieces Vietnamese text can use), saves each as a token classifier (what every
checkpoint and Trainer save holds), then loads each in a fresh process and measures the load time
and the process's peak resident memory, side by side in one run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Peak memory is the process's VmHWM (ru_maxrss would keep the parent's peak across exec on Linux).
LOAD = """
import json, sys, time
from transformers import AutoModelForTokenClassification, AutoTokenizer
def hwm():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
before = hwm()
t = time.perf_counter()
model = AutoModelForTokenClassification.from_pretrained(sys.argv[1])
tok = AutoTokenizer.from_pretrained(sys.argv[1])
model(**tok(["Bộ Công an"], return_tensors="pt"))
print(json.dumps({"load_s": time.perf_counter() - t, "peak_rss_mb": hwm(), "imports_mb": before}))
"""


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from antq_ner.backbone import convert_backbone

    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "annotations" / "raw").glob("*.txt"))]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tokens = {}
        for trim in (False, True):
            name = "trimmed" if trim else "full"
            started = time.perf_counter()
            backbone = convert_backbone(out_dir=Path(tmp) / f"backbone-{name}", trim=trim)
            convert_s = time.perf_counter() - started
            classifier = Path(tmp) / f"classifier-{name}"
            AutoModelForTokenClassification.from_pretrained(backbone, num_labels=11).save_pretrained(classifier)
            tokenizer = AutoTokenizer.from_pretrained(backbone)
            tokenizer.save_pretrained(classifier)
            tokens[name] = [tokenizer.tokenize(t) for t in texts]
            loaded = json.loads(subprocess.run([sys.executable, "-c", LOAD, str(classifier)], check=True,
                                               capture_output=True, text=True).stdout.splitlines()[-1])
            params = sum(p.numel() for p in AutoModelForTokenClassification.from_pretrained(classifier).parameters())
            rows.append([name, f"{len(tokenizer):,}", f"{params / 1e6:.1f} M", f"{folder_mb(classifier):.0f} MB",
                         f"{convert_s:.1f}", f"{loaded['load_s']:.2f}", f"{loaded['peak_rss_mb']:.0f} MB",
                         f"{loaded['peak_rss_mb'] - loaded['imports_mb']:.0f} MB"])
    header = ["vocabulary", "pieces", "parameters", "checkpoint", "convert (s)", "load + first call (s)",
              "peak RSS", "of which loading"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    same = tokens["full"] == tokens["trimmed"]
    print(f"\nthe five reports tokenize identically with both vocabularies: {same}")


if __name__ == "__main__":
    main()
