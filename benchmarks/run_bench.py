"""Full `textmine run` at scale (printed figures, not a test).

1. CFPP2000 (../shared/corpora/cfpp2000, 61 TextGrid interviews, ~0.9 M words) as one wave:
   wall time per stage, peak memory (max RSS), then the time of an unchanged re-run.
2. République numérique 2015 (../shared/corpora/republique_numerique_2015): each proposal
   with its arguments becomes one CSV "interview" (author turn + one turn per argument,
   usernames dropped), split by date into two waves (before / from 2015-10-07).

Usage: python benchmarks/run_bench.py [--encoder e5-small|use-multilingual] [--only cfpp|rn]
       [--limit N]   (N files per corpus, for a quick look)
Aims (issue 15, quiet 2-core machine): a CFPP2000-sized wave in <= 15 min with e5-small,
<= 5 min with use-multilingual, the whole run <= 1.3x its embed stage; unchanged re-run <= 5 s;
peak RSS <= 3 GB. Each line prints the load average: the development machine is shared, and
each stage's peak RSS (sampled every 50 ms from /proc on Linux: which stage holds the memory), and
the same with the run's worker processes (the sum of their RSS and the run's).
"""
from __future__ import annotations

import argparse
import csv
import html
import json
import os
import re
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora"
OUT = ROOT / "bench-out"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: the proportional set size is read every this many samples (1 s): reading it 20 times a second
#: slowed the embed stage by a third
PSS_EVERY = 20


class StagePeaks:
    """Peak RSS per stage of a run: a thread samples /proc/self/statm every ``every`` seconds and
    charges it to the stage the run reported last (nothing on systems without /proc)."""

    def __init__(self, every: float = 0.05) -> None:
        self.stage, self.peaks, self.with_workers, self.pss, self.every = "start", {}, {}, {}, every
        self._ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def rss_mb() -> float | None:
        try:
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
        except OSError:
            return None

    @staticmethod
    def workers_mb() -> float:
        """RSS of this process's children (the run's worker processes), from /proc."""
        total, page = 0.0, os.sysconf("SC_PAGE_SIZE")
        for task in Path("/proc/self/task").iterdir():
            try:
                pids = (task / "children").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page / 2 ** 20
                except (OSError, ValueError, IndexError):
                    pass
        return total

    @staticmethod
    def pss_mb() -> float | None:
        """Proportional set size of this process and its children (``/proc/*/smaps_rollup``): a
        page shared by several processes (the libraries the workers load too) counts once in
        all, where the sum of RSS counts it in each process."""
        total = 0.0
        pids = ["self"]
        for task in Path("/proc/self/task").iterdir():
            try:
                pids += (task / "children").read_text().split()
            except OSError:
                continue
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) / 1024
                        break
            except (OSError, ValueError, IndexError):
                if pid == "self":
                    return None
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            r = self.rss_mb()
            if r is None:
                return
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), r)
            w = r + self.workers_mb()
            self.with_workers[self.stage] = max(self.with_workers.get(self.stage, 0.0), w)
            self._ticks += 1
            if self._ticks % PSS_EVERY == 0:     # smaps_rollup walks the page tables: costly at 20 Hz
                p = self.pss_mb()
                if p is not None:
                    self.pss[self.stage] = max(self.pss.get(self.stage, 0.0), p)
            self._stop.wait(self.every)

    def report(self, stage: str, msg: str) -> None:
        if msg == "…":        # run_wave reports "…" as a stage starts
            self.stage = stage

    def __enter__(self) -> "StagePeaks":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _config(encoder: str) -> Path:
    OUT.mkdir(exist_ok=True)
    p = OUT / f"config-{encoder}.yaml"
    p.write_text(f"embed:\n  encoder: {encoder}\n", encoding="utf-8")
    return p


def _run(project: Path, corpus: Path, wave: str, cfg: Path) -> tuple[float, dict]:
    from textmine.pipeline import run_wave
    t0 = time.perf_counter()
    with StagePeaks() as peaks:
        res = run_wave(project, corpus, wave=wave, config_path=cfg, report=peaks.report)
    manifest = dict(res.manifest)
    manifest["_peaks"] = peaks.peaks
    manifest["_with_workers"] = peaks.with_workers
    manifest["_pss"] = peaks.pss
    return time.perf_counter() - t0, manifest


def _print(label: str, wall: float, manifest: dict) -> None:
    d = manifest.get("durations_s", {})
    c = manifest.get("counts", {})
    topics = manifest.get("stages", {}).get("topics", {})
    emb = manifest.get("stages", {}).get("embed", {})
    if d.get("embed", 0) > 1:
        rest = {k: round(v / d["embed"], 2) for k, v in d.items() if k != "embed"}
        print(f"  whole run / embed stage: {wall / d['embed']:.2f}x (aim <= 1.3); other stages / embed: {rest}; "
              f"encoder {emb.get('encoder')} ({emb.get('engine')} on {emb.get('device')})")
    print(f"{label} [load {os.getloadavg()[0]:.1f}]: wall {wall:.1f} s | " + ", ".join(f"{k} {v:.1f}s" for k, v in d.items())
          + f" | interviews {c.get('interviews')}, segments {c.get('segments')}, words {c.get('words')}"
          + (f" | topics {topics.get('n_topics')}, outliers {topics.get('outlier_share')}" if topics.get('n_topics') else "")
          + f" | peak RSS so far {_peak_rss_mb():.0f} MB", flush=True)
    if manifest.get("_peaks"):
        print("  peak RSS by stage (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in manifest["_peaks"].items()), flush=True)
    if any(v > manifest.get("_peaks", {}).get(k, 0) + 1 for k, v in manifest.get("_with_workers", {}).items()):
        print("  with its worker processes (sum of RSS, MB): "
              + ", ".join(f"{k} {v:.0f}" for k, v in manifest["_with_workers"].items()), flush=True)
        if manifest.get("_pss"):
            print("  with its worker processes, proportional set size (shared pages counted once, MB): "
                  + ", ".join(f"{k} {v:.0f}" for k, v in manifest["_pss"].items()), flush=True)


def bench_cfpp(encoder: str, limit: int | None) -> None:
    src = SHARED / "cfpp2000" / "TextGrid-corpus"
    if not src.exists():
        print("CFPP2000 not found: skipped")
        return
    corpus = src
    if limit:
        corpus = OUT / "cfpp-subset"
        shutil.rmtree(corpus, ignore_errors=True)
        corpus.mkdir(parents=True)
        for f in sorted(src.glob("*.TextGrid"))[:limit]:
            shutil.copy(f, corpus / f.name)
    project = OUT / f"cfpp-{encoder}"
    shutil.rmtree(project, ignore_errors=True)
    cfg = _config(encoder)
    wall, m = _run(project, corpus, "cfpp", cfg)
    _print(f"CFPP2000 first run ({encoder})", wall, m)
    pool = m.get("stages", {}).get("topics", {}).get("lemmatiser")
    if pool:
        print(f"  lemmatiser workers (started at the topics stage, while UMAP and HDBSCAN run): {pool['workers']} workers, "
              f"{pool['texts']} texts in {pool['seconds']} s, largest worker's peak RSS {pool['peak_rss_mb']:.0f} MB "
              f"(as the worker measured it)", flush=True)
    wall, m = _run(project, corpus, "cfpp", cfg)
    _print("CFPP2000 unchanged re-run", wall, m)
    _cli_rerun(project, corpus, "cfpp", cfg)


def _cli_rerun(project: Path, corpus: Path, wave: str, cfg: Path, runs: int = 3) -> None:
    """The unchanged re-run as a user types it: ``textmine run`` as a new process (imports,
    store opening, summary included), ``runs`` times: min / median / max wall time [aim 5 s]."""
    import statistics
    import subprocess
    exe = str(Path(sys.executable).with_name("textmine"))
    cmd = [exe, "--config", str(cfg), "run", str(corpus), "--project", str(project), "--wave", wave]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0 or "Nothing new" not in proc.stdout:
            print(f"  unchanged re-run as a command: exit {proc.returncode}, not a no-op:\n{proc.stdout[-800:]}"
                  f"{proc.stderr[-800:]}")
            return
    print(f"  unchanged re-run as a command (`textmine run`, a new process, {runs} runs) [load "
          f"{os.getloadavg()[0]:.1f}]: min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
          f"max {max(times):.2f} s [aim 5 s]", flush=True)


def _strip(body: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body or ""))).strip()


def rn_waves(limit: int | None) -> tuple[Path, Path] | None:
    src = SHARED / "republique_numerique_2015" / "opinions"
    if not src.exists():
        return None
    w1, w2 = OUT / "rn" / "vague1", OUT / "rn" / "vague2"
    for w in (w1, w2):
        shutil.rmtree(w, ignore_errors=True)
        w.mkdir(parents=True)
    files = sorted(src.glob("*.json"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
    n = 0
    for f in files:
        if f.stat().st_size == 0:
            continue
        op = json.loads(f.read_text(encoding="utf-8")).get("opinion") or {}
        body = _strip(op.get("body", ""))
        if not body:
            continue
        rows = [{"speaker": "Auteur", "text": body}]
        rows += [{"speaker": "Contributeur", "text": _strip(a.get("body", ""))}
                 for a in op.get("arguments") or [] if _strip(a.get("body", ""))]
        target = w1 if op.get("created_at", "") < "2015-10-07" else w2
        with open(target / f"proposition_{f.stem}.csv", "w", encoding="utf-8", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=["speaker", "text"])
            wr.writeheader()
            wr.writerows(rows)
        n += 1
        if limit and n >= limit:
            break
    return w1, w2


def bench_rn(encoder: str, limit: int | None) -> None:
    waves = rn_waves(limit)
    if waves is None:
        print("République numérique not found: skipped")
        return
    project = OUT / f"rn-{encoder}"
    shutil.rmtree(project, ignore_errors=True)
    cfg = _config(encoder)
    for label, w in zip(("2015-a", "2015-b"), waves):
        wall, m = _run(project, w, label, cfg)
        _print(f"République numérique wave {label} ({encoder})", wall, m)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default="e5-small")
    ap.add_argument("--only", choices=["cfpp", "rn"])
    ap.add_argument("--limit", type=int)
    a = ap.parse_args()
    print(f"python {sys.version.split()[0]}, encoder {a.encoder}, limit {a.limit}")
    if a.only in (None, "cfpp"):
        bench_cfpp(a.encoder, a.limit)
    if a.only in (None, "rn"):
        bench_rn(a.encoder, a.limit)
    print(f"peak RSS of the whole benchmark: {_peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
