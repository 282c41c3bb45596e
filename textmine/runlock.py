"""One run at a time per project: an OS-level file lock (released even on SIGKILL)."""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from .errors import E, TextmineError

LOCK_NAME = ".textmine.lock"


@contextlib.contextmanager
def project_lock(root: str | Path) -> Iterator[Path]:
    """Hold the project's lock for the duration of the block, or raise E003 at once."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    fh = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            raise TextmineError(E.E003, path=path, detail=f"held by {holder}",
                                fix="Wait for that run to finish (the lock is released when it exits).") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        yield path
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
