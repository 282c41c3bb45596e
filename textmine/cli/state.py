"""The CLI's global options (``--project``, ``--quiet``, ``--config``) and its stderr console.

Kept apart from :mod:`textmine.cli.common` (which imports pandas and the store) so that
``textmine --help`` and ``--version`` start without them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

console = Console(stderr=True)   # messages and progress go to stderr; data goes to stdout


@dataclass
class State:
    project: Path | None = None
    quiet: bool = False
    config: Path | None = None
    new_project: bool = False      # --project named a folder that did not exist when the command started


state = State()
