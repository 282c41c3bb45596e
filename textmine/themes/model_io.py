"""A trained supervised coder on disk: ``weights.npz`` (arrays only, loaded with
``allow_pickle=False``) and ``model.json`` (format version, codebook hash, encoder name, id and
version, training data hash, parameters, calibration samples...).

:func:`save_coder` writes the coder's :meth:`~.SupervisedThemeClassifier.fitted_state`;
:func:`load_coder` checks the model against the current codebook and encoder (E404 when it was
built for others, or holds a zero-shot calibration with a negative weight, as an earlier textmine
fitted on codebooks with one or two examples per theme; E405 when the folder is not a model) and :meth:`~.SupervisedThemeClassifier.restore`
builds the coder again.
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import numpy as np

from ..config import Config
from ..embed import Encoder, encoder_key, encoder_name, resolve_encoder
from ..errors import E, TextmineError
from ..safeio import atomic_write
from .codebook import Codebook, load_codebook
from .supervised import SupervisedThemeClassifier

FORMAT_VERSION = 1
PARAMS = ("random_state", "C", "C_chain", "chain", "example_weight", "min_positives", "n_splits", "min_words",
          "abstain_below", "prior_weight")


def save_coder(model: SupervisedThemeClassifier, folder: str | Path) -> Path:
    """Write a fitted supervised coder to ``folder`` (created); returns the folder."""
    state = model.fitted_state()
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TextmineError(E.E602, path=folder, detail=str(exc)) from exc
    enc = model.encoder_
    meta = {
        "format_version": FORMAT_VERSION, "kind": "supervised",
        "model_id": f"sup-{model.codebook_.hash[:8]}-{model.data_hash_[:8]}",
        "codebook_hash": model.codebook_.hash, "codebook_path": model.codebook_.path,
        "encoder": enc.id, "encoder_name": encoder_name(enc), "encoder_version": enc.version,
        "encoder_key": model.encoder_id_, "training_data_hash": model.data_hash_,
        "n_train": model.n_train_, "theme_ids": model.theme_ids_,
        "params": {k: getattr(model, k) for k in PARAMS},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        # calibration samples whose human codes were trained on (their estimates need cross-fitting)
        "calibration_samples": list(getattr(model, "calibration_samples_", []) or []),
    }

    def _weights(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in state.items()})

    # model.json last, each file renamed into place: an interrupted save never loads as a model (E405)
    atomic_write(folder / "weights.npz", _weights)
    atomic_write(folder / "model.json",
                 lambda tmp: tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8"))
    return folder


def read_model_meta(folder: str | Path) -> dict:
    """``model.json`` of a saved coder (E405 when missing, unreadable or not a supervised model)."""
    folder = Path(folder)
    path = folder / "model.json"
    if not path.exists():
        raise TextmineError(E.E405, path=folder, detail=f"no model.json in {folder}")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TextmineError(E.E405, path=path, detail=str(exc)) from exc
    if meta.get("format_version") != FORMAT_VERSION or meta.get("kind") != "supervised":
        raise TextmineError(E.E405, path=path, detail="not a textmine supervised theme model (format_version 1)")
    return meta


def load_coder(folder: str | Path, codebook: Codebook | None = None, encoder: str | Encoder | None = None,
               config: Config | None = None) -> SupervisedThemeClassifier:
    """The coder saved in ``folder``, with the encoder it was trained with (``encoder``, else the
    one it records; built on ``config``'s device). E404 for another codebook or encoder."""
    folder = Path(folder)
    meta = read_model_meta(folder)
    codebook = codebook if codebook is not None else load_codebook()
    if meta["codebook_hash"] != codebook.hash:
        raise TextmineError(E.E404, path=folder,
                            detail=f"model trained with codebook {meta['codebook_hash']} "
                                   f"({meta.get('codebook_path')}), current codebook is {codebook.hash} ({codebook.path})")
    enc = resolve_encoder(encoder if encoder is not None else meta.get("encoder_name", meta["encoder"]), config)
    if encoder_key(enc) != meta["encoder_key"]:
        raise TextmineError(E.E404, path=folder,
                            detail=f"model trained with encoder {meta['encoder_key']}, requested {encoder_key(enc)}")
    try:
        with np.load(folder / "weights.npz", allow_pickle=False) as w:
            state = {k: w[k] for k in w.files}
    except (OSError, ValueError) as exc:
        raise TextmineError(E.E405, path=folder / "weights.npz", detail=str(exc)) from exc
    zs_coef = state.get("zs_coef")
    if zs_coef is not None and (np.asarray(zs_coef) < 0).any():
        # textmine before the fix of the zero-shot calibration (codebooks with 1-2 examples per
        # theme): today's calibration never has a negative weight, so such a model is one of those
        raise TextmineError(E.E404, path=folder,
                            detail="its zero-shot calibration gives a negative weight to a theme's evidence (an earlier "
                                   "textmine did this for codebooks with fewer than 3 examples per theme): the model "
                                   "would rank themes backwards and give rare themes to every segment",
                            fix="Train it again with `textmine themes train` (same --coded files); adding examples "
                                "to the themes that `textmine themes list` warns about helps too.")
    model = SupervisedThemeClassifier.restore(state, codebook, enc, **meta["params"])
    model.theme_ids_, model.data_hash_, model.n_train_ = meta["theme_ids"], meta["training_data_hash"], meta["n_train"]
    model.model_id_ = meta["model_id"]
    model.calibration_samples_ = list(meta.get("calibration_samples") or [])
    return model
