"""Mistyped command lines: a short usage error naming the problem and the right form, exit 2,
never a traceback (issue 19, item 1). Parsing fails before any project is opened, so these
tests need no project and no model."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def _no_traceback(res) -> None:
    assert "Traceback" not in res.stderr + res.stdout, res
    assert res.stderr.startswith("usage error: "), res


def test_global_option_after_the_command(cli):
    res = cli("search", "quartier", "--project", "proj")
    assert res.exit_code == 2
    _no_traceback(res)
    assert "--project goes before the command: textmine --project proj search quartier" in res.stderr
    res = cli("--quiet", "corpus", "-p", "proj", "--format", "json")
    assert res.exit_code == 2
    assert "-p goes before the command: textmine --quiet -p proj corpus --format json" in res.stderr


def test_mistyped_option_names_the_close_one(cli):
    res = cli("search", "--wav", "2022", "quartier")
    assert res.exit_code == 2
    _no_traceback(res)
    assert "no such option --wav for `textmine search`; did you mean --wave?" in res.stderr
    assert "help: textmine search --help" in res.stderr


def test_unknown_command_suggests_the_close_one(cli):
    res = cli("serch", "quartier")
    assert res.exit_code == 2
    _no_traceback(res)
    assert "no such command `serch`" in res.stderr and "did you mean `search`?" in res.stderr
    res = cli("topics", "shw", "3")
    assert res.exit_code == 2 and "did you mean `show`?" in res.stderr


def test_missing_required_option_is_named(cli):
    res = cli("--project", "proj", "track", "changes", "--to", "2023")
    assert res.exit_code == 2
    _no_traceback(res)
    assert "`textmine track changes` needs --from (Earlier wave)" in res.stderr
    assert "usage: textmine track changes [OPTIONS]" in res.stderr


def test_bad_value_and_option_without_value(cli):
    res = cli("--project", "proj", "topics", "show", "abc")
    assert res.exit_code == 2
    _no_traceback(res)
    res = cli("--project", "proj", "track", "changes", "--from")
    assert res.exit_code == 2 and "requires an argument" in res.stderr
    _no_traceback(res)


def test_console_script_exit_status_and_no_traceback():
    """The installed entry point (a new process), as a user types it."""
    proc = subprocess.run([sys.executable, "-c", "from textmine.cli.main import run; run()", "search", "quartier",
                           "--project", "proj"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr and "--project goes before the command" in proc.stderr
