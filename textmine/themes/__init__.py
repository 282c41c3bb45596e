"""Codebook themes: the codebook, zero-shot and supervised coders, agreement metrics,
application to a project and active learning.

Public API::

    from textmine.themes import load_codebook, classify_texts, apply_themes, theme_codings
    cb = load_codebook()                       # packaged configs/codebook.yaml
    classify_texts(["..."], model_dir=None)    # zero-shot; model_dir = a `themes train` folder
"""
from __future__ import annotations

from .codebook import POSTURE_LABELS, Codebook, Theme, load_codebook
from .codings import theme_codings

__all__ = ["load_codebook", "Codebook", "Theme", "POSTURE_LABELS", "classify_texts", "apply_themes",
           "theme_codings", "load_model", "ZeroShotThemeClassifier", "SupervisedThemeClassifier",
           "agreement_table"]


def __getattr__(name: str):   # lazy: importing the package does not import scikit-learn
    if name in ("classify_texts", "apply_themes", "load_model"):
        from . import apply
        return getattr(apply, name)
    if name == "ZeroShotThemeClassifier":
        from .zeroshot import ZeroShotThemeClassifier
        return ZeroShotThemeClassifier
    if name == "SupervisedThemeClassifier":
        from .supervised import SupervisedThemeClassifier
        return SupervisedThemeClassifier
    if name == "agreement_table":
        from .agreement import agreement_table
        return agreement_table
    raise AttributeError(name)
