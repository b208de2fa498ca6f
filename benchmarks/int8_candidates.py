"""How `--precision int8` was chosen: int8 candidates against torch fp32, timed in one run (not a test).

    python benchmarks/int8_candidates.py --model models/offline [--repeat 3] [--rounds 2] [--threads 2]

On the given checkpoint's encoder alone (no CRF), the five raw reports `--repeat` times, each
candidate and torch fp32 tagged in turn `--rounds` times (the fastest round counts): the time ratio
to torch fp32 and the entity agreement with it (F1 of one's entities against the other's).
Candidates, all built with the functions of `antq_ner/int8.py` from one export:
ONNX Runtime fp32 (no quantisation); dynamic int8 everywhere; the same with the FFN output
projections of the first half of the layers, or of all of them, kept fp32; block-wise int8
everywhere; the shipped recipe (dynamic, FFN outputs block-wise); and torch bf16 weights.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, type=Path, help="a checkpoint folder written by train.py")
    p.add_argument("--repeat", type=int, default=3, help="copies of the five reports (default 3)")
    p.add_argument("--rounds", type=int, default=2, help="timed rounds, fastest kept (default 2)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads and ONNX Runtime's threads")
    args = p.parse_args(argv)

    import onnx
    import torch
    from predict_speed import RAW, entity_agreement, run_ours
    from transformers.utils import logging as hf_logging

    from antq_ner import int8
    from antq_ner.inference import Tagger

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    paths = [str(p) for p in sorted(RAW.glob("*.txt"))] * args.repeat
    fp32 = Tagger.from_pretrained(args.model)
    fp32.crf = None
    taggers = {"torch fp32": fp32}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        exported = folder / "fp32.onnx"
        int8.export_onnx(fp32.model, exported)
        ffn_out = int8.ffn_output_products(onnx.load(str(exported)).graph)
        half = ffn_out[: len(ffn_out) // 2]
        built = {
            "ONNX Runtime fp32": exported,
            "dynamic int8, every product with a weight": (int8.quantize_dynamic_int8, {}),
            "dynamic, FFN outputs of the first half fp32": (int8.quantize_dynamic_int8, {"exclude": half}),
            "dynamic, every FFN output fp32": (int8.quantize_dynamic_int8, {"exclude": ffn_out}),
            "block-wise int8 everywhere": (int8.quantize_blockwise_int8, {}),
        }
        for k, (name, how) in enumerate(built.items()):
            path = how if isinstance(how, Path) else folder / f"{k}.onnx"
            if not isinstance(how, Path):
                how[0](exported, path, **how[1])
            taggers[name] = Tagger(int8.OnnxTokenClassifier(int8.onnx_session(path), fp32.model.config),
                                   fp32.tokenizer, fp32.encoder.prep)
        shipped = folder / "shipped.onnx"
        int8.quantize_onnx(exported, shipped, fp32.model.config.num_hidden_layers)
        taggers["dynamic + FFN outputs block-wise (--precision int8)"] = Tagger(
            int8.OnnxTokenClassifier(int8.onnx_session(shipped), fp32.model.config), fp32.tokenizer, fp32.encoder.prep)
    taggers["torch bf16 weights (--precision bf16)"] = Tagger.from_pretrained(args.model, precision="bf16")
    taggers["torch bf16 weights (--precision bf16)"].crf = None

    for t in taggers.values():  # warm-up
        run_ours(t, paths[:1])
    best = {}
    for _ in range(args.rounds):
        for name, t in taggers.items():
            r = run_ours(t, paths)
            if name not in best or r.seconds < best[name].seconds:
                best[name] = r
    ref = best["torch fp32"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(paths)} documents, "
          f"{len(ref.entities)} entities in fp32; best of {args.rounds}")
    print(f"{'candidate':<54} {'seconds':>8} {'time ÷ fp32':>12} {'entity agreement':>17}")
    for name, r in best.items():
        print(f"{name:<54} {r.seconds:8.2f} {r.seconds / ref.seconds:7.2f} ({ref.seconds / r.seconds:.2f}×) "
              f"{entity_agreement(ref, r):16.2f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
