"""Safe file writing for every export: write to a temporary file, then rename atomically.

A failed or interrupted export never leaves a half-written file at the destination
(and never destroys an earlier good file). The file gets the permissions the user's umask
gives a new file (``0644`` under the usual ``022``), as if it had been written directly;
``private=True`` keeps the temporary file's ``0600`` (run manifests inside the project).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from ..errors import E, TextmineError


def umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _temp_beside(path: Path) -> Path:
    """An empty temporary file in ``path``'s folder; E602 when that folder is missing, is a file,
    is read-only or full, or when ``path`` names a folder."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise TextmineError(E.E602, path=path, detail=f"folder {folder} does not exist")
    if not folder.is_dir():
        raise TextmineError(E.E602, path=path, detail=f"{folder} is a file, not a folder")
    if path.is_dir():
        raise TextmineError(E.E602, path=path, detail=f"{path} is a folder; give a file name")
    try:        # a read-only or full disk fails here, before anything is written
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise TextmineError(E.E602, path=path, detail=str(exc)) from exc
    os.close(fd)
    return Path(tmp)


def check_writable(path: str | Path) -> Path:
    """E602 at once when ``path`` could not be written, so that a command refuses an unwritable
    destination before it spends minutes on the content (nothing is left behind)."""
    path = Path(path)
    _temp_beside(path).unlink()
    return path


def atomic_write(path: str | Path, writer: Callable[[Path], None], *, private: bool = False) -> Path:
    """Call ``writer(tmp_path)`` then move ``tmp_path`` onto ``path`` (mode from the umask
    unless ``private``)."""
    path = Path(path)
    tmp_path = _temp_beside(path)
    try:
        writer(tmp_path)
        if not private:
            os.chmod(tmp_path, 0o666 & ~umask())
        os.replace(tmp_path, path)
    except OSError as exc:
        raise TextmineError(E.E602, path=path, detail=str(exc)) from exc
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path
