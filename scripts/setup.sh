#!/usr/bin/env bash
# Create .venv (if missing) and install the project with its test and evaluation extras.
# torch is pinned to 2.13.0 first: on this project's machines that is a CPU wheel on disk, while an
# unpinned torch would pull a multi-GB CUDA build. Elsewhere pip takes 2.13.0 from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "set up: $(.venv/bin/python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)')"
