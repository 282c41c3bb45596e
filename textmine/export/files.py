"""Safe file writing for every export: write to a temporary file, then rename atomically.

A failed or interrupted export never leaves a half-written file at the destination
(and never destroys an earlier good file).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from ..errors import E, TextmineError


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` then move ``tmp_path`` onto ``path``."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise TextmineError(E.E602, path=path, detail=f"folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer(tmp_path)
        os.replace(tmp_path, path)
    except OSError as exc:
        raise TextmineError(E.E602, path=path, detail=str(exc)) from exc
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path
