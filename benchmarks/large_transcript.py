"""Large-transcript benchmark: `textmine ingest` of one long generated transcript, as a user runs it.

Each size is ingested by a new `textmine` process (cold: models loaded, as the user lives it)
into a fresh project; printed: words, wall seconds, seconds per MiB, peak RSS of the process
and the ratio of each figure to the 1 MiB run (the baseline measured in the same run). Then a
file just above the limit (``textmine.ingest.MAX_TEXT_BYTES``) and one of 50 MiB are given to
`textmine ingest`, which must refuse them (E120) at once: their wall time is printed.

The text is generated (interviewer and conseiller turns from a fixed French vocabulary), so the
figures measure segmentation and NER speed, not any real transcript. Not a test.
Run: ``.venv/bin/python benchmarks/large_transcript.py [MiB ...]`` (default: 1 5 10).
"""
from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textmine.ingest import MAX_TEXT_BYTES  # noqa: E402

WORDS = ("le la les un une des je tu il elle on nous vous ils avec pour dans sur par mais donc alors après "
         "avant toujours jamais souvent démarche compte dossier caf impôts atelier tablette ordinateur usager "
         "personne commune mairie poste contrat formation financement accompagner montrer expliquer remplir "
         "créer envoyer").split()
TEXTMINE = str(Path(sys.executable).with_name("textmine"))


def generate(path: Path, mib: float, seed: int = 1) -> int:
    """A transcript of at most ``mib`` MiB (within 2 KiB): alternating short questions and long
    answers. Returns its words."""
    rng = random.Random(seed)
    size, words, i, written = int(mib * 2**20), 0, 0, 0
    with path.open("w", encoding="utf-8") as out:
        while True:
            k = rng.randint(10, 30) if i % 2 == 0 else rng.randint(40, 160)
            line = f"{'Enquêteur' if i % 2 == 0 else 'Conum'} : " \
                   f"{' '.join(rng.choice(WORDS) for _ in range(k)).capitalize()}.\n"
            n = len(line.encode("utf-8"))
            if written + n > size:
                return words
            out.write(line)
            written += n
            words += k
            i += 1


def ingest(path: Path, project: Path) -> tuple[int, float, float, str]:
    """(exit status, wall seconds, peak RSS MiB, last stderr line) of `textmine ingest` on ``path``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([TEXTMINE, "--quiet", "--project", str(project), "ingest", str(path), "--wave", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ps, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    err = proc.stderr.read().strip().splitlines()
    return proc.returncode, time.perf_counter() - t0, peak / 2**20, (err[0] if err else "")


def main() -> None:
    sizes = [float(a) for a in sys.argv[1:]] or [1.0, 5.0, 10.0]
    work = Path(tempfile.mkdtemp(prefix="tm_large_"))
    try:
        print(f"limit: {MAX_TEXT_BYTES / 2**20:.0f} MiB per transcript")
        print(f"{'MiB':>5} {'words':>10} {'status':>6} {'wall s':>8} {'s/MiB':>7} {'peak RSS MiB':>12} "
              f"{'x wall':>7} {'x RSS':>6}")
        base = None
        for mib in sizes:
            f = work / f"t{mib:g}.txt"
            words = generate(f, mib)
            rc, wall, rss, _ = ingest(f, work / f"p{mib:g}")
            base = base or (wall, rss)
            print(f"{mib:5g} {words:10,d} {rc:6d} {wall:8.1f} {wall / mib:7.1f} {rss:12.0f} "
                  f"{wall / base[0]:7.2f} {rss / base[1]:6.2f}")
        for mib in (MAX_TEXT_BYTES / 2**20 + 0.5, 50.0):
            f = work / f"over{mib:g}.txt"
            generate(f, mib)
            rc, wall, rss, first = ingest(f, work / f"over{mib:g}")
            print(f"refusal of a {mib:g} MiB file: exit {rc} in {wall:.1f} s, peak RSS {rss:.0f} MiB: {first[:90]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
