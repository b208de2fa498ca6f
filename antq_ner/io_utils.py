"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_open", "atomic_write_json", "atomic_write_text", "current_umask"]


def current_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it, then restore it at once
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(path: Path | str, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside `path`; rename it over `path` only on success.

    A symbolic link is written through (its target is replaced, the link stays); a path that exists
    and is not a regular file (a device, a FIFO) is refused: renaming over it would replace it.
    """
    path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():
        raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path)) if path.is_dir() else OSError(
            errno.EINVAL, "not a regular file (a device or a FIFO): give a file path", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes 0600; a plain open() keeps an existing file's mode, else honours the umask
        os.fchmod(fd, path.stat().st_mode & 0o7777 if path.is_file() else 0o666 & ~current_umask())
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": "\n"})) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    with atomic_open(path) as f:
        f.write(text)


def atomic_write_json(path: Path | str, data: object) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
