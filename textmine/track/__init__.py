"""Tracking themes, posture sub-labels and topics across waves, roles, territories and
respondents, with cluster-bootstrap intervals and permutation tests.

Library API::

    from textmine.track import prevalence, changes, panel
    prevalence(store, by=["wave", "role"], measure="segments")   # share + 95 % CI per cell
    changes(store, "2022", "2023")                                # delta, CI, p, BH q-value
    panel(store)                                                  # respondents in both waves
"""
from .changes import CORRECTION, changes
from .data import KINDS, TrackData, load_items, sort_waves
from .panel import PanelResult, panel
from .prevalence import prevalence


def topic_prevalence(store, by=("wave",), measure="segments", explain=False):
    """Prevalence of the current topic model's topics (E304 without a topic model)."""
    return prevalence(store, by=by, measure=measure, explain=explain, kinds=("topic",))


__all__ = ["prevalence", "changes", "panel", "topic_prevalence", "load_items", "TrackData", "PanelResult",
           "KINDS", "CORRECTION", "sort_waves"]
