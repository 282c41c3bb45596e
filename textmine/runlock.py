"""One run at a time per project: an OS-level file lock (released even on SIGKILL).

The lock file says who holds it (``pid N started YYYY-MM-DDTHH:MM:SS``), so that another
command can tell the user which run is writing the project (:func:`holder`).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import os
import re
from pathlib import Path
from typing import Iterator

from .errors import E, TextmineError

LOCK_NAME = ".textmine.lock"


@contextlib.contextmanager
def project_lock(root: str | Path) -> Iterator[Path]:
    """Hold the project's lock for the duration of the block, or raise E003 at once."""
    root = Path(root)
    path = root / LOCK_NAME
    try:
        if root.exists() and not root.is_dir():
            raise NotADirectoryError(f"{root} is a file, not a project folder")
        root.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+", encoding="utf-8")
    except OSError as exc:     # read-only disk, an existing file, no permission
        raise TextmineError(E.E011, path=root, detail=str(exc)) from exc
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            raise TextmineError(E.E003, path=path, detail=f"held by {holder}",
                                fix="Wait for that run to finish (the lock is released when it exits).") from None
        try:
            fh.seek(0)
            fh.truncate()
            started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
            fh.write(f"pid {os.getpid()} started {started}\n")
            fh.flush()
        except OSError as exc:   # a full disk (ENOSPC): nothing has been written to the project yet
            raise TextmineError(E.E011, path=path, detail=f"cannot write the run lock ({exc})") from exc
        yield path
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def holder(root: str | Path) -> dict[str, str] | None:
    """``{"pid": ..., "started": ...}`` of the run holding the project's lock, or None when no
    run holds it. Only tests the lock (a shared, non-blocking attempt, released at once)."""
    path = Path(root) / LOCK_NAME
    if not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = fh.read()
                m = re.search(r"pid (\d+)(?: started (\S+))?", text)
                return {"pid": m.group(1) if m else "?", "started": (m.group(2) or "?") if m else "?"}
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    except OSError:
        return None
    return None
