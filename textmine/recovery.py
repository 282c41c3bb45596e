"""The store's file and its way back, without DuckDB: the name of the file, the last good
copies a project keeps (``DIR/backups/``, written by :meth:`textmine.store.Store.backup`), and
the coded error for a DuckDB failure (E011 when the disk refused a write, E009 when the file
is damaged, with the command that restores the newest copy; E004 otherwise).

Kept apart from :mod:`textmine.store` so the CLI's one error handler can code a DuckDB
failure without importing DuckDB or pandas (``textmine --help`` starts without them).
"""
from __future__ import annotations

from pathlib import Path

from .errors import E, TextmineError

DB_NAME = "textmine.duckdb"
BACKUP_DIR = "backups"


def backups(root: str | Path) -> list[Path]:
    """The project's last good copies of the store, newest first."""
    folder = Path(root) / BACKUP_DIR
    return sorted(folder.glob("*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []


def restore_hint(root: str | Path) -> str:
    """How to go back to the last good copy of a damaged store (the E009 fix)."""
    root = Path(root)
    found = backups(root)
    if found:
        return (f"Restore the last good copy: cp '{found[0]}' '{root / DB_NAME}' (keep the damaged file aside "
                "first); then run the same command again.")
    return (f"No copy in {root / BACKUP_DIR}: move {root / DB_NAME} aside and rebuild the project with "
            "`textmine run` on its transcript folders.")


_DAMAGE = ("could not read", "corrupt", "checksum", "truncat", "unexpected end", "invalid block",
           "not a valid duckdb", "serializ", "is not a duckdb", "failed to read")


#: what DuckDB says when the disk refuses a write: full (disk, quota, file-size limit), or read-only
_NO_ROOM = ("no space left", "file too large", "disk quota")
_READ_ONLY = ("read-only file system", "permission denied")


def store_error(exc: BaseException, root: str | Path) -> TextmineError:
    """The coded error for a DuckDB failure on the store at ``root``: E011 when the disk refused
    a write (full, quota, file-size limit: what was committed before is kept), E009 (damaged,
    with the way back) for read and corruption errors, E004 otherwise."""
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    db = Path(root) / DB_NAME
    if any(k in str(exc).lower() for k in _NO_ROOM):
        return TextmineError(E.E011, path=db, detail=f"the disk refused a write to the store ({msg})",
                             fix="Free space on that disk (or raise the quota or file-size limit), then run the "
                                 "same command again: what was stored before is kept, the failed step is redone.")
    if any(k in str(exc).lower() for k in _READ_ONLY):
        return TextmineError(E.E011, path=db, detail=f"this command writes to the store, which is read-only here ({msg})",
                             fix="Copy the project folder to a disk you can write to and give that copy as "
                                 "--project; `search`, `corpus`, `speakers`, `check`, `segments export`, `topics list`, "
                                 "`track` and `runs` read a read-only project as it is.")
    if any(k in str(exc).lower() for k in _DAMAGE):
        return TextmineError(E.E009, path=db, detail=msg, fix=restore_hint(root))
    return TextmineError(E.E004, path=db, detail=msg)


def is_store_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is a DuckDB error (its classes live in the ``_duckdb`` extension)."""
    return type(exc).__module__.lstrip("_").split(".")[0] == "duckdb"
