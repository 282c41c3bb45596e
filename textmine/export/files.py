"""Safe file writing for every export: :func:`textmine.safeio.atomic_write` (a temporary file
beside the destination, then one rename) and :func:`~textmine.safeio.check_writable`,
re-exported here for the export writers and the commands."""
from __future__ import annotations

from ..safeio import atomic_write, check_writable, umask

__all__ = ["atomic_write", "check_writable", "umask"]
