"""Reading untrusted zip archives (.qdpx) within limits.

Refused: member names that are absolute, contain ``..`` or a drive letter; more than
``MAX_MEMBERS`` members; a declared or actual uncompressed size over ``MAX_MEMBER`` for one
member or ``MAX_TOTAL`` for all; a compression ratio over ``MAX_RATIO`` (zip bombs).
Members are read through a bounded stream, so a lying header cannot exhaust memory.
"""
from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from ..errors import E, TextmineError

MAX_MEMBERS = 10_000
MAX_MEMBER = 256 * 1024 * 1024      # 256 MiB
MAX_TOTAL = 1024 * 1024 * 1024      # 1 GiB
MAX_RATIO = 200


def _refuse(path, detail: str) -> TextmineError:
    return TextmineError(E.E603, path=path, detail=detail)


def check_member_name(name: str) -> str:
    """The normalised member name, or raise if it could escape the archive."""
    n = name.replace("\\", "/")
    p = PurePosixPath(n)
    if n.startswith("/") or p.is_absolute() or ".." in p.parts or (len(n) > 1 and n[1] == ":"):
        raise ValueError(name)
    return n


class SafeZip:
    """``with SafeZip(path) as z: data = z.read("project.qde")``."""

    def __init__(self, path: str | Path, *, max_members: int = MAX_MEMBERS, max_member: int = MAX_MEMBER,
                 max_total: int = MAX_TOTAL, max_ratio: float = MAX_RATIO) -> None:
        self.path = Path(path)
        self.max_member, self.max_ratio = max_member, max_ratio
        try:
            self.zf = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise _refuse(self.path, f"not a readable zip archive ({exc})") from exc
        infos = self.zf.infolist()
        if len(infos) > max_members:
            self.zf.close()
            raise _refuse(self.path, f"{len(infos)} members (limit {max_members})")
        self.names: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            try:
                name = check_member_name(info.filename)
            except ValueError:
                self.zf.close()
                raise _refuse(self.path, f"unsafe member name {info.filename!r} (path traversal)") from None
            total += info.file_size
            if info.file_size > max_member or total > max_total:
                self.zf.close()
                raise _refuse(self.path, f"{info.filename!r}: uncompressed size over the limit")
            if info.compress_size and info.file_size / info.compress_size > max_ratio:
                self.zf.close()
                raise _refuse(self.path, f"{info.filename!r}: compression ratio over {max_ratio} (zip bomb?)")
            self.names[name] = info

    def find(self, name: str) -> str | None:
        """Member name matching ``name`` case-insensitively (or None)."""
        low = name.lower()
        return next((n for n in self.names if n.lower() == low), None)

    def read(self, name: str) -> bytes:
        info = self.names[name]
        try:
            with self.zf.open(info) as f:
                data = f.read(min(info.file_size, self.max_member) + 1)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise _refuse(self.path, f"{name!r}: corrupt member ({exc})") from exc
        if len(data) > info.file_size:
            raise _refuse(self.path, f"{name!r}: larger than its header says (zip bomb?)")
        return data

    def close(self) -> None:
        self.zf.close()

    def __enter__(self) -> "SafeZip":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
