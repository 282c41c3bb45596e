"""Speaker roles: who is the interviewer, who are the respondents, who is another voice.

:func:`assign_roles` decides, for every speaker label of a transcript, in this order:

1. ``cfg.map`` (exact label, case-insensitive, or a regex when the key starts with ``re:``)
   -> method ``config``, confidence 1.0;
2. metadata: a sheet column ``interviewer`` (label(s), ``;``-separated) -> ``metadata``;
3. interviewer detection, first rule that finds someone wins:
   ``label-pattern`` (ENQ, Enq., Enquêteur/Enquêtrice, Intervieweur, Interviewer, I, E, Q...),
   ``initials-code`` (ESLO: 2-3 capital letters such as JR, JSM next to respondent codes
   such as DE744 or 401PERS), ``discourse-features`` (share of turns asking a question,
   ``est-ce que``/``qu'est-ce que``, short turns, low share of the words, "vous" more than
   "je", who speaks first) — one interviewer, with the winning margin as confidence;
4. the others: a role named in the label (``Marie (conum)``, ``**Élu** :``) -> that role
   (``label-pattern``); marginal voices (labels such as inconnu, tous, "interlocuteur au
   téléphone", ESLO NNNINC/NNNLOC and relatives NNNFEM/NNNFIE, or fewer than 30 words or
   5 % of the main respondent's words) -> ``other``; the main respondent -> ``meta.role``
   (method ``metadata``) or ``respondent``; every other substantial speaker ->
   ``respondent`` (multi-interviewee files). Respondents found by elimination carry the
   method and confidence of the interviewer decision they follow from.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from .config import RolesConfig
from .ingest.tags import fold
from .ingest.words import count_words
from .records import INTERVIEWER, KNOWN_ROLES, OTHER, RESPONDENT, InterviewMeta, Transcript

_INTERVIEWER_RE = re.compile(
    r"(?:^|[\s(\[_-])(?:enq(?:ueteur|uetrice)?\.?|int(?:erv)?\.?|intervieweu(?:r|se)|interviewer|"
    r"chercheu(?:r|se)|animat(?:eur|rice)|moderat(?:eur|rice))(?=$|[\s)\]_.\d-])"
    r"|^(?:i|e|q|inter|int|enq)\d?$")
_RESPONDENT_RE = re.compile(r"^(?:r|p|rep|repondant|repondante|interviewe|interviewee|enquete|enquetee|participant"
                            r"|participante)\d?$")
_OTHER_RE = re.compile(
    r"^(?:inconnu|inconnue|unknown|inaudible|\?+|x+|tous|toutes|all|ensemble|plusieurs|public|foule|voix|autre|other"
    r"|.*telephone.*|bruit|noise|musique|\d{3}(?:inc|loc)\d*|nnn(?:inc|loc)\d*)$")
_RELATIVE_RE = re.compile(r"^(?:[A-Z]{2}\d{2,4}|\d{3}PERS)(?:FEM|FIE|FIL|MAR|MERE|PERE|ENF|FRE|SOE|AMI)\d*$")
_INITIALS_RE = re.compile(r"^[A-Z]{2,3}$")
_RESP_CODE_RE = re.compile(r"^(?:[A-Z]{2}\d{2,4}|\d{3}PERS)$")
_QUESTION_RE = re.compile(r"\?|\best[- ]ce qu|\bqu'est[- ]ce\b|\bpourquoi\b|\bcomment\b|\bcombien\b|"
                          r"\bvous (?:avez|êtes|pensez|trouvez|faites|pouvez|diriez|habitez|aimez)\b", re.I)
_VOUS_RE = re.compile(r"\bvous\b|\bvotre\b|\bvos\b", re.I)
_JE_RE = re.compile(r"\bje\b|\bj'|\bmoi\b|\bmon\b|\bma\b|\bmes\b", re.I)
_PAREN_RE = re.compile(r"\(([^()]{1,40})\)")
#: weights of the discourse features (sum = 1)
FEATURE_WEIGHTS = {"questions": 0.3, "short_turns": 0.25, "low_share": 0.2, "vous_vs_je": 0.2, "first": 0.05}
MIN_WORDS = 30               # fewer words -> a marginal voice
MIN_SHARE_OF_MAIN = 0.05     # fewer than 5 % of the main respondent's words -> marginal


@dataclass
class RoleDecision:
    role: str
    method: str
    confidence: float


@dataclass
class _Stats:
    turns: int = 0
    words: int = 0
    questions: int = 0
    vous: int = 0
    je: int = 0
    first_turn: int = 10 ** 9


def speaker_stats(transcript: Transcript) -> dict[str, _Stats]:
    st: dict[str, _Stats] = defaultdict(_Stats)
    for i, t in enumerate(transcript.turns):
        s = st[t.speaker]
        n = count_words(t.text)
        s.turns += 1
        s.words += n
        s.questions += bool(_QUESTION_RE.search(" ".join(t.text.split()[-12:])))
        s.vous += len(_VOUS_RE.findall(t.text))
        s.je += len(_JE_RE.findall(t.text))
        if n >= 3:
            s.first_turn = min(s.first_turn, i)
    return dict(st)


def _core(label: str) -> str:
    return fold(label).replace("*", "").strip(" :.")


def is_interviewer_label(label: str) -> bool:
    f = _core(label)
    return bool(_INTERVIEWER_RE.search(f)) and not _RESPONDENT_RE.match(f)


def is_other_label(label: str) -> bool:
    return bool(_OTHER_RE.match(_core(label))) or bool(_RELATIVE_RE.match(label.strip()))


def label_role(label: str, known: set[str]) -> str | None:
    """A respondent role named by the label itself: ``Marie (conum)``, ``Élu``, ``Responsable structure``."""
    cands = [m.group(1) for m in _PAREN_RE.finditer(label)] + [_PAREN_RE.sub("", label)]
    for c in cands:
        k = re.sub(r"[\s-]+", "_", _core(c)).strip("_")
        k = {"elue": "elu", "conseiller_numerique": "conum", "conseillere_numerique": "conum",
             "coordinatrice": "coordinateur", "usagere": "usager", "responsable": "responsable_structure",
             "responsable_de_structure": "responsable_structure"}.get(k, k)
        if k in known and k != RESPONDENT:
            return k
    return None


def _config_role(label: str, mapping: dict[str, str]) -> str | None:
    for key, role in mapping.items():
        if key.startswith("re:"):
            if re.search(key[3:], label, re.I):
                return role
        elif key.casefold() == label.casefold():
            return role
    return None


def discourse_scores(stats: dict[str, _Stats], candidates: list[str]) -> dict[str, float]:
    """Interviewer-likeness of each candidate in [0, 1]: weighted sum of min-max scaled features.

    ``questions`` counts turns whose last 12 words hold a question mark or an interrogative.
    """
    total = sum(stats[c].words for c in candidates) or 1
    feats = {
        "questions": {c: stats[c].questions / max(stats[c].turns, 1) for c in candidates},
        "short_turns": {c: -stats[c].words / max(stats[c].turns, 1) for c in candidates},
        "low_share": {c: -stats[c].words / total for c in candidates},
        "vous_vs_je": {c: (stats[c].vous - stats[c].je) / max(stats[c].words, 1) for c in candidates},
        "first": {c: -stats[c].first_turn for c in candidates},
    }
    scores = dict.fromkeys(candidates, 0.0)
    for name, vals in feats.items():
        lo, hi = min(vals.values()), max(vals.values())
        for c, v in vals.items():
            scores[c] += FEATURE_WEIGHTS[name] * ((v - lo) / (hi - lo) if hi > lo else 0.5)
    return scores


def assign_roles(transcript: Transcript, meta: InterviewMeta | None, cfg: RolesConfig) -> dict[str, RoleDecision]:
    """Role of every speaker label in ``transcript`` (see module docstring)."""
    stats = speaker_stats(transcript)
    labels = list(dict.fromkeys([t.speaker for t in transcript.turns] + [s.label for s in transcript.speakers]))
    for lb in labels:
        stats.setdefault(lb, _Stats())
    known = set(cfg.known or KNOWN_ROLES) | set(KNOWN_ROLES)
    out: dict[str, RoleDecision] = {}
    for lb in labels:
        r = _config_role(lb, cfg.map or {})
        if r is not None:
            out[lb] = RoleDecision(r, "config", 1.0)
    meta_itv = str((meta.attrs or {}).get("interviewer") or "") if meta is not None else ""
    for name in filter(None, (x.strip() for x in meta_itv.split(";"))):
        for lb in labels:
            if lb not in out and fold(lb) == fold(name):
                out[lb] = RoleDecision(INTERVIEWER, "metadata", 1.0)

    rest = [lb for lb in labels if lb not in out]
    # marginal voices by label first, so that they never compete for the interviewer role
    for lb in rest:
        if is_other_label(lb):
            out[lb] = RoleDecision(OTHER, "label-pattern", 0.9)
    rest = [lb for lb in rest if lb not in out]
    if not any(d.role == INTERVIEWER for d in out.values()):
        found = [lb for lb in rest if is_interviewer_label(lb)]
        method, conf = "label-pattern", 0.95
        if not found and any(_RESP_CODE_RE.match(lb) for lb in labels):
            found = [lb for lb in rest if _INITIALS_RE.match(lb)]
            method, conf = "initials-code", 0.9
        if not found:
            top = max((stats[lb].words for lb in rest), default=0)
            cands = [lb for lb in rest if stats[lb].words >= max(MIN_WORDS, MIN_SHARE_OF_MAIN * top)]
            if len(cands) >= 2:
                sc = discourse_scores(stats, cands)
                ranked = sorted(cands, key=lambda c: (-sc[c], stats[c].first_turn))
                found = [ranked[0]]
                method, conf = "discourse-features", round(0.5 + 0.5 * (sc[ranked[0]] - sc[ranked[1]]), 3)
        for lb in found:
            out[lb] = RoleDecision(INTERVIEWER, method, conf)
    rest = [lb for lb in rest if lb not in out]
    itv = [d for d in out.values() if d.role == INTERVIEWER]
    resp_conf = min([d.confidence for d in itv], default=0.5)
    main = max(rest, key=lambda lb: (stats[lb].words, -stats[lb].first_turn), default=None)
    main_words = stats[main].words if main else 0
    for lb in rest:
        w = stats[lb].words
        named = label_role(lb, known)
        if named:
            out[lb] = RoleDecision(named, "label-pattern", 0.95)
        elif lb != main and (w < MIN_WORDS or w < MIN_SHARE_OF_MAIN * main_words):
            out[lb] = RoleDecision(OTHER, "marginal", round(1 - w / max(main_words, 1), 3))
        elif lb == main and meta is not None and meta.role:
            out[lb] = RoleDecision(meta.role, "metadata", 1.0)
        else:
            out[lb] = RoleDecision(RESPONDENT, itv[0].method if itv else "default", resp_conf)
    return {lb: out[lb] for lb in labels}
