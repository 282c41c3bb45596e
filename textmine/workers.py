"""Worker processes for a CPU-bound pass over many items: spaCy's lemmatiser
(:func:`textmine.french.lemma_tokens`) and ingest's sentence splitting and NER
(:func:`textmine.corpus.ingest_paths`). One process runs spaCy on one core; on a machine with
several, a pass over tens of thousands of texts is shared between workers.

:class:`Pool` pickles each worker's share of the items to a file in its own temporary folder
(``textmine-workers-<pid of the run>-*``) and starts ``python -m textmine.workers TASK IN OUT
PARENT_PID`` for each, where ``TASK`` names one of :data:`TASKS` (``module:function``, called as
``function(share, *args)``). A worker:

- is started with ``subprocess`` (no ``fork`` of a run that may hold 2 GB, no ``preexec_fn``);
  its output goes nowhere and its errors to a file of the folder (no pipe a chatty worker could
  fill and stall on), whose last line says why a worker failed;
- dies with the run that started it (``PR_SET_PDEATHSIG`` on Linux) and leaves Ctrl-C to it;
- runs with one BLAS/OpenMP thread and without torch (thinc imports it when installed: 200 MB
  and a second a worker, for nothing on CPU pipelines);
- writes its result with its own peak RSS (``VmHWM``) to OUT, read only after it exited with 0.

A worker that fails has its share redone in the run's process by the caller (:meth:`Pool.results`
gives ``None`` for it): the results never depend on how many workers ran. The folder is removed
when the pool closes; the folders of runs killed with SIGKILL are removed by the next pool.
"""
from __future__ import annotations

import importlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

#: the functions a worker may run, by task name
TASKS = {"lemmas": "textmine.french:pack_texts", "ingest": "textmine.corpus:analyse_interviews"}
#: worker folders in the temporary directory: ``textmine-workers-<pid of the run>-*``
TMP_PREFIX = "textmine-workers-"
#: at most this many worker processes (one per core up to it)
MAX_WORKERS = 4
#: memory a worker may take (spaCy's small French pipeline: 0.3 GB loaded; at their peak on
#: CFPP2000, 0.36 GB for the lemmatiser's workers, about 0.3 GB for ingest's), with a margin
WORKER_BYTES = 1 << 30


def available_memory() -> int | None:
    """``MemAvailable`` in bytes (Linux), else None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def worker_count(enough: bool) -> int:
    """How many workers a pass runs: 0 (in this process) when there is not ``enough`` work to pay
    for starting them or on one core, else one per core up to :data:`MAX_WORKERS`, and no more
    than the memory available holds (:data:`WORKER_BYTES` each; at least one: a worker keeps
    spaCy's memory out of the run, which goes on after it)."""
    cores = os.cpu_count() or 1
    if not enough or cores < 2:
        return 0
    avail = available_memory()
    fit = MAX_WORKERS if avail is None else max(1, avail // WORKER_BYTES)
    return int(min(cores, MAX_WORKERS, fit))


def sweep_stale_folders() -> None:
    """Remove the worker folders of runs that are gone (a run killed with SIGKILL cannot remove
    its own; its workers die with it). POSIX only: ``os.kill(pid, 0)`` is a signal elsewhere."""
    if os.name != "posix":
        return
    for d in Path(tempfile.gettempdir()).glob(TMP_PREFIX + "*-*"):
        pid = d.name[len(TMP_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except OSError:             # another user's live process
            continue


class Pool:
    """Worker processes running :data:`TASKS` ``[task]`` on ``shares`` (one worker each), started
    at once; :meth:`results` waits for them. Use as a context manager, or call :meth:`close`."""

    def __init__(self, task: str, shares: Sequence[Any], args: tuple = ()) -> None:
        if task not in TASKS:
            raise ValueError(f"unknown worker task {task!r}")
        self.task, self.n = task, len(shares)
        self.started = time.perf_counter()
        self.procs: list[subprocess.Popen] = []
        sweep_stale_folders()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
        try:
            env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            for i, share in enumerate(shares):
                (self.tmp / f"in{i}").write_bytes(pickle.dumps((share, args), protocol=pickle.HIGHEST_PROTOCOL))
                with open(self.tmp / f"err{i}", "wb") as err:       # a file, not a pipe to fill and stall on
                    self.procs.append(subprocess.Popen(
                        [sys.executable, "-m", "textmine.workers", task, str(self.tmp / f"in{i}"),
                         str(self.tmp / f"out{i}"), str(os.getpid())],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env))
        except BaseException:
            self.close()
            raise

    def results(self) -> tuple[list[Any], dict[str, Any]]:
        """Wait for every worker: each share's result (``None`` for a worker that failed: the
        caller redoes its share) and the pool's figures (``workers``, ``failed``, ``seconds``,
        the largest worker's ``peak_rss_mb`` as it measured it, and ``errors``: why each failed
        worker failed, its exit status and the last line it wrote). Closes the pool."""
        try:
            out, peak, errors = [], 0.0, []
            for i, proc in enumerate(self.procs):
                proc.wait()
                path = self.tmp / f"out{i}"
                res, rss = pickle.loads(path.read_bytes()) if proc.returncode == 0 and path.exists() else (None, 0.0)
                if res is None:
                    errors.append(f"exit status {proc.returncode}" + (f": {last}" if (last := self._last_error(i)) else ""))
                peak = max(peak, rss)
                out.append(res)
            return out, {"workers": len(self.procs), "failed": len(errors),
                         "seconds": round(time.perf_counter() - self.started, 2), "peak_rss_mb": peak,
                         "errors": errors}
        finally:
            self.close()

    def _last_error(self, i: int, limit: int = 200) -> str:
        """The last line worker ``i`` wrote to its error output (read from its last 4 KiB), cut
        to ``limit`` characters: a Python error's own line."""
        try:
            with open(self.tmp / f"err{i}", "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 4096))
                tail = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [ln.strip() for ln in tail.splitlines() if ln.strip()]
        return lines[-1][:limit] if lines else ""

    def close(self) -> None:
        """Kill the workers still running and remove the folder (done, interrupted or failed)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _die_with_parent(parent: int) -> None:
    """In a worker: killed when the run that started it dies (Linux), Ctrl-C left to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):   # pragma: no cover - not Linux
        pass
    if os.getppid() != parent:          # the parent died before the line above
        os._exit(1)


def own_peak_mb() -> float:
    """This process's peak RSS since it started its program: ``VmHWM`` (Linux; ``ru_maxrss`` would
    count the pages of the process it was forked from, kept across ``exec``), else 0."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _worker_main(argv: list[str]) -> int:
    """``python -m textmine.workers TASK IN OUT PARENT_PID``."""
    task, src, dst = argv[0], Path(argv[1]), Path(argv[2])
    _die_with_parent(int(argv[3]))
    # spaCy's CPU pipelines need no torch, which thinc imports when it is installed (the results
    # are the same: the equality tests run through the workers)
    sys.modules.setdefault("torch", None)
    module, name = TASKS[task].split(":")
    fn = getattr(importlib.import_module(module), name)
    share, args = pickle.loads(src.read_bytes())
    result = fn(share, *args)
    dst.write_bytes(pickle.dumps((result, own_peak_mb()), protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":      # a worker of Pool
    sys.exit(_worker_main(sys.argv[1:]))
