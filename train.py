"""Thin entry point: see `python train.py --help`; the work is in antq_ner."""

from antq_ner.cli import train_main

if __name__ == "__main__":
    raise SystemExit(train_main())
