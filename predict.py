"""Thin entry point: see `python predict.py --help`; the work is in antq_ner."""

from antq_ner.cli import predict_main

if __name__ == "__main__":
    raise SystemExit(predict_main())
