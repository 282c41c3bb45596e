"""Interruptions and concurrent commands: what a user meets when a command is stopped (Ctrl-C,
SIGTERM from a scheduler or a closed session) or when two commands start on one project."""
from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from .hostile_helpers import flat

ROOT = Path(__file__).resolve().parents[2]


_HOLD_STORE = ("import duckdb, sys, time\n"
               "con = duckdb.connect(sys.argv[1])\n"
               "print('held', flush=True)\n"
               "time.sleep(120)\n")


@pytest.mark.parametrize("other", ["run", "ingest"])
def test_a_refused_command_never_removes_the_project_another_command_is_building(
        other, ingested, corpus3, tmp_path, cli, monkeypatch):
    """Two commands started at once on a new folder: the second is refused (E003 when the other
    is a `run` holding the lock, E007 or E004 when it is an `ingest` holding the store) and, as
    the folder did not exist when it started, it used to remove it "as nothing was stored" (it
    could not open the store the other holds), deleting the other's interviews while it worked.
    The refused command must leave the folder alone."""
    import textmine.pipeline as pipeline
    from textmine.runlock import LOCK_NAME

    project = tmp_path / "nouveau"
    held = []
    real_lock = pipeline.project_lock

    def other_run_got_there_first(root):
        # the other run created the folder, holds its lock and its store, and stored interviews
        shutil.copytree(ingested, project)
        if other == "run":
            fh = open(project / LOCK_NAME, "a+", encoding="utf-8")
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            fh.write(f"pid {os.getpid()} started now\n")
            fh.flush()
            held.append(fh)
        # the other command's store, held by another process as a real `ingest` holds it (a
        # connection of this process would be shared with the refused command's, and the refused
        # command would then run all its stages before failing)
        holder = subprocess.Popen([sys.executable, "-c", _HOLD_STORE, str(project / "textmine.duckdb")],
                                  stdout=subprocess.PIPE, text=True)
        held.append(holder)
        assert holder.stdout.readline().strip() == "held"
        return real_lock(root)

    monkeypatch.setattr(pipeline, "project_lock", other_run_got_there_first)
    try:
        res = cli("--project", project, "run", corpus3, "--wave", "2022")
        assert res.exit_code == 1 and "Traceback" not in res.stderr, res
        if other == "run":
            assert "[E003]" in res.stderr, res
        else:       # the process that holds the store is named, not this command's own lock
            assert "[E007]" in res.stderr and f"PID {held[-1].pid})" in " ".join(res.stderr.split()), res.stderr
        assert "was removed" not in res.stderr, res
        assert (project / "textmine.duckdb").is_file()
    finally:
        for h in held:
            if isinstance(h, subprocess.Popen):
                h.kill()
                h.wait()
            else:
                h.close()
    with duckdb.connect(str(project / "textmine.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM interviews").fetchone()[0] == 3


def _run(project: Path, corpus: Path, kill_at: str | None = None, *, command: str = "run",
         max_file_kib: int | None = None) -> subprocess.CompletedProcess:
    """``textmine <command>`` on ``corpus`` as a new process (Ctrl-C as in a shell); ``kill_at``:
    TEXTMINE_KILL_AT; ``max_file_kib``: a file-size limit, as a full disk or a quota."""
    env = {k: v for k, v in os.environ.items() if k != "TEXTMINE_KILL_AT"}
    env["PYTHONPATH"] = str(ROOT)
    if kill_at:
        env["TEXTMINE_KILL_AT"] = kill_at

    def setup():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if max_file_kib is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_kib * 1024, resource.RLIM_INFINITY))

    return subprocess.run([sys.executable, "-m", "textmine", "--project", str(project), "--config",
                           str(ROOT / "tests" / "fixtures" / "test_encoder.yaml"), command, str(corpus), "--wave", "2022"],
                          env=env, capture_output=True, text=True, timeout=300, preexec_fn=setup)


@pytest.mark.slow      # textmine runs as processes
def test_ctrl_c_and_sigterm_say_so_and_the_next_run_resumes(corpus3, tmp_path):
    """Ctrl-C (SIGINT) used to end a command with exit status 130 and not a word (the "interrupted"
    message was never reached), and SIGTERM (a scheduler's time limit, a closed session) killed it
    at once: no message, no cleanup. Both now say what happened and how to go on; the next run
    resumes where the stopped one was."""
    project = tmp_path / "proj"
    for kill_at, rc in (("ingest:2:INT", 130), ("topics:0:TERM", 143)):
        res = _run(project, corpus3, kill_at)
        err = flat(res.stderr)
        assert res.returncode == rc, (kill_at, res.returncode, res.stderr[-2000:])
        assert "interrupted" in err and "run the same command again to resume" in err, (kill_at, err[-800:])
        assert "Traceback" not in res.stderr + res.stdout, res.stderr
        assert not list(project.rglob("*.tmp")), kill_at
        assert project.is_dir(), kill_at                      # interviews were stored: kept, to resume
        if kill_at.startswith("topics"):                      # it stored the interview the first one had left
            assert "ingest: 1/1" in err, err[-1500:]
    res = _run(project, corpus3)
    assert res.returncode == 0, res.stderr[-2000:]
    out = flat(res.stdout + res.stderr)
    assert "0 added, 0 replaced, 0 updated in place, 3 unchanged" in out, out[-1500:]


def test_a_run_whose_backup_cannot_be_written_says_so(corpus3, tmp_path, monkeypatch):
    """On a nearly full disk (or a file-size limit) the run's copy of the store in backups/ failed
    and the run said nothing: the user believed a copy of this run existed to restore."""
    import errno
    import textmine.store
    from textmine.pipeline import run_wave

    def disk_full(src, dst, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(textmine.store.shutil, "copyfile", disk_full)
    said = []
    res = run_wave(tmp_path / "p", corpus3, wave="2022", config_path=ROOT / "tests" / "fixtures" / "test_encoder.yaml",
                   report=lambda stage, msg: said.append((stage, msg)))
    assert res.outputs and not list((tmp_path / "p" / "backups").glob("*.duckdb"))
    assert any(st == "backup" and "no copy of the store could be written" in m and "no copy to restore" in m
               for st, m in said), said


@pytest.mark.slow      # textmine runs as processes
def test_a_disk_that_fills_up_during_a_command_is_e011_and_the_same_command_resumes(corpus3, tmp_path):
    """A file-size limit (as a full disk or a quota) reached while DuckDB commits said "[E004] The
    project store could not be opened ... Fix: Check the file is a textmine DuckDB store and not
    opened by another program", about a store that opened well. It is now E011 saying the disk
    refused the write, and the same command, with room again, resumes (16 KiB: the store is created,
    then a commit of the ingest fails; every command's store errors go through one handler)."""
    project = tmp_path / "p"
    res = _run(project, corpus3, command="ingest", max_file_kib=16)
    err = flat(res.stderr)
    assert res.returncode == 1 and "[E011]" in err and "the disk refused a write" in err, err[-1500:]
    assert "Free space" in err and "Traceback" not in res.stderr
    assert (project / "textmine.duckdb").is_file()          # created before the disk filled up: kept
    res = _run(project, corpus3, command="ingest")
    assert res.returncode == 0, res.stderr[-1500:]
    with duckdb.connect(str(project / "textmine.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM interviews").fetchone()[0] == 3


@pytest.mark.slow      # textmine runs as processes
def test_a_disk_that_fills_up_while_the_store_is_created_leaves_no_damaged_store(corpus3, tmp_path):
    """The disk refused the first blocks of a new store: the command said E011 (free space, run
    again), but the half-written file stayed, and the next command, with room again, said E009
    "the project store is damaged ... move it aside and rebuild". The file this command was
    creating holds nothing: it is removed, and the next command creates the store."""
    project = tmp_path / "p"
    project.mkdir()                     # a folder the user made: kept, but not the store file
    res = _run(project, corpus3, command="ingest", max_file_kib=8)
    err = flat(res.stderr)
    assert res.returncode == 1 and "[E011]" in err and "Traceback" not in res.stderr, err[-1500:]
    assert project.is_dir() and not (project / "textmine.duckdb").exists()
    assert not (project / "textmine.duckdb.wal").exists()
    res = _run(project, corpus3, command="ingest")
    assert res.returncode == 0, res.stderr[-1500:]
    with duckdb.connect(str(project / "textmine.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM interviews").fetchone()[0] == 3
