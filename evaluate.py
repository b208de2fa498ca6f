"""Thin entry point: see `python evaluate.py --help`; the work is in antq_ner."""

from antq_ner.cli import evaluate_main

if __name__ == "__main__":
    raise SystemExit(evaluate_main())
