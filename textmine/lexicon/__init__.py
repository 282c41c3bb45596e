"""French lexicometry on the project's pseudonymised respondent segments.

Library API::

    from textmine.lexicon import specificities, fit_classes, class_profiles, class_crosstab, concordance
    specificities(store, by="wave")          # Lafon's specificities, as TXM computes them
    run = fit_classes(store, k=8)            # Reinert classes (rainette's algorithm), stored
    class_profiles(store)                    # sizes, chi-square profiles, shares, segments
    class_crosstab(store)                    # classes x topics x themes
    concordance(store, "démarche", by="wave")  # keyword in context, with source references

Modules: :mod:`.tokens` (word token cache, matrices), :mod:`.specificities`,
:mod:`.reinert` (the classification algorithm, a scikit-learn clusterer), :mod:`.classes`
(runs of a project), :mod:`.concordance`.
"""
from .classes import ClassProfiles, ClassRun, class_crosstab, class_profiles, current_classes, fit_classes
from .concordance import concordance
from .specificities import COLUMNS, partition, specificities, specificity_scores
from .tokens import load_tokens, update_tokens


def __getattr__(name: str):   # lazy: importing the package (the report) does not import scikit-learn
    if name in ("ReinertClassifier", "double_classification"):
        from . import reinert
        return getattr(reinert, name)
    raise AttributeError(name)


__all__ = ["specificities", "specificity_scores", "partition", "COLUMNS", "fit_classes", "current_classes",
           "class_profiles", "class_crosstab", "ClassRun", "ClassProfiles", "concordance", "ReinertClassifier",
           "double_classification", "load_tokens", "update_tokens"]
