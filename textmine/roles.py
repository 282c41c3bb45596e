"""Speaker roles: who is the interviewer, who are the respondents, who is another voice.

:func:`assign_roles` decides, for every speaker label of a transcript, in this order:

1. the wave's ``speakers`` sheet (``file, speaker, role[, respondent_id]``) -> method
   ``metadata``, confidence 1.0;
2. ``cfg.map`` (exact label, case-insensitive, or a regex when the key starts with ``re:``)
   -> method ``config``, confidence 1.0;
3. the interviewer setting: the metadata sheet's ``interviewer`` column for this file, else
   ``cfg.interviewer``. Label(s) (``;``-separated) name the interviewer (``metadata`` /
   ``config``); ``none`` says there is none; ``auto`` (the default) detects it, first rule
   that finds someone wins: ``label-pattern`` (ENQ, Enq., Enquêteur/Enquêtrice, Intervieweur,
   Interviewer, I, E, Q...), ``initials-code`` (ESLO: 2-3 capital letters such as JR, JSM next
   to respondent codes such as DE744 or 401PERS), ``discourse-features`` (share of turns
   asking a question, ``est-ce que``/``qu'est-ce que``, short turns, low share of the words,
   "vous" more than "je", who speaks first): one interviewer, with the winning margin as
   confidence, **only when the evidence is enough** (:func:`interviewer_evidence`: at least
   :data:`MIN_TURNS` turns, and turns at most 30 % as long as the main respondent's, or two
   of {more questions, turns at most 70 % as long, more "vous" than "je"} while the main
   respondent speaks in the first person). Otherwise nobody is the interviewer (method
   ``no-interviewer``: a consultation, written contributions, a group talking), and the
   evidence says why;
4. the others: a role named in the label (``Marie (conum)``, ``**Élu** :``) -> that role
   (``label-pattern``); labels of other voices (inconnu, tous, "interlocuteur au téléphone",
   collègue, voisin, ESLO NNNINC/NNNLOC) -> ``other``; with a metadata ``role``, every other
   speaker takes the interview's role (co-interviewees, relatives: method ``metadata``);
   without one, ESLO relatives (NNNFEM/NNNFIE...) and marginal voices (fewer than 30 words or
   5 % of the main respondent's words) -> ``other``, the main respondent and every other
   substantial speaker -> ``respondent``. When the file has no interviewer, every speaker
   but the labelled other voices is a respondent. Respondents found by elimination carry the
   method and confidence of the interviewer decision they follow from.

Every decision carries its ``evidence`` (stored in ``speakers.role_evidence``); speaker labels
in it are written ``«label»`` so that the store can give them as pseudonymous labels.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .config import RolesConfig
from .french import count_words, fold_label
from .records import INTERVIEWER, KNOWN_ROLES, OTHER, RESPONDENT, InterviewMeta, Transcript
from .vocabulary import ROLE_ALIASES

_INTERVIEWER_RE = re.compile(
    r"(?:^|[\s(\[_-])(?:enq(?:ueteur|uetrice)?\.?|int(?:erv)?\.?|intervieweu(?:r|se)|interviewer|"
    r"chercheu(?:r|se)|animat(?:eur|rice)|moderat(?:eur|rice))(?=$|[\s)\]_.\d-])"
    r"|^(?:i|e|q|inter|int|enq)\d?$")
_RESPONDENT_RE = re.compile(r"^(?:r|p|rep|repondant|repondante|interviewe|interviewee|enquete|enquetee|participant"
                            r"|participante)\d?$")
_OTHER_RE = re.compile(
    r"^(?:inconnu|inconnue|unknown|inaudible|\?+|x+|tous|toutes|all|ensemble|plusieurs|public|foule|voix|autre|other"
    r"|.*telephone.*|bruit|noise|musique|\d{3}(?:inc|loc)\d*|nnn(?:inc|loc)\d*"
    r"|collegues?|voisins?|voisines?|passants?|passantes?|visiteurs?|visiteuses?)$")
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
MIN_TURNS = 6                # an interviewer found by discourse features asks at least this many times
NO_INTERVIEWER = "no-interviewer"


@dataclass
class RoleDecision:
    role: str
    method: str
    confidence: float
    evidence: str = ""


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
    return fold_label(label).replace("*", "").strip(" :.")


def is_interviewer_label(label: str) -> bool:
    f = _core(label)
    return bool(_INTERVIEWER_RE.search(f)) and not _RESPONDENT_RE.match(f)


def is_other_label(label: str) -> bool:
    """Labels of other voices: unknown, everyone, phone, colleague... and ESLO relatives."""
    return bool(_OTHER_RE.match(_core(label))) or is_relative_label(label)


def is_relative_label(label: str) -> bool:
    """ESLO codes of a respondent's relatives (``DE744FEM``, ``401PERSFIE``)."""
    return bool(_RELATIVE_RE.match(label.strip()))


def label_role(label: str, known: set[str]) -> str | None:
    """A respondent role named by the label itself: ``Marie (conum)``, ``Élu``, ``Responsable structure``."""
    cands = [m.group(1) for m in _PAREN_RE.finditer(label)] + [_PAREN_RE.sub("", label)]
    for c in cands:
        k = re.sub(r"[\s-]+", "_", _core(c)).strip("_")
        k = ROLE_ALIASES.get(k, k)
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


def _per_turn(s: _Stats) -> float:
    return s.words / max(s.turns, 1)


def _vous_je(s: _Stats) -> float:
    return (s.vous - s.je) / max(s.words, 1)


def interviewer_evidence(stats: dict[str, _Stats], cand: str, main: str) -> tuple[bool, str]:
    """Is ``cand`` (the best discourse-feature candidate) an interviewer, against the main
    respondent ``main``? ``(enough, evidence)``. Measured on the 86 ESLO1/CFPP2000 interviews
    (labels hidden: 85 keep their interviewer) and the 522 République numérique proposals with
    arguments (5 get one, against 363 before)."""
    c, m = stats[cand], stats[main]
    short = _per_turn(c) <= 0.3 * _per_turn(m)
    signs = {"asks more questions": c.questions / max(c.turns, 1) >= m.questions / max(m.turns, 1) + 0.03,
             "shorter turns": _per_turn(c) <= 0.7 * _per_turn(m),
             "more 'vous' than 'je'": _vous_je(c) - _vous_je(m) >= 0.02}
    first_person = _vous_je(m) < -0.01
    enough = c.turns >= MIN_TURNS and (short or (sum(signs.values()) >= 2 and first_person))
    figures = (f"«{cand}»: {c.turns} turns of {_per_turn(c):.1f} words (main respondent «{main}»: "
               f"{_per_turn(m):.1f}), questions in {c.questions / max(c.turns, 1):.0%} of turns "
               f"({m.questions / max(m.turns, 1):.0%}), vous-je {_vous_je(c):+.3f} per word ({_vous_je(m):+.3f})")
    if enough:
        return True, figures
    why = (f"fewer than {MIN_TURNS} turns" if c.turns < MIN_TURNS else
           "turns not much shorter than the respondent's and too few other signs "
           f"({', '.join(k for k, v in signs.items() if v) or 'none'}"
           f"{'' if first_person else '; the main speaker does not speak in the first person'})")
    return False, f"no speaker looks like an interviewer ({why}); best candidate {figures}"


def _interviewer_setting(meta: InterviewMeta | None, cfg: RolesConfig) -> tuple[str, list[str], str]:
    """``(mode, labels, method)``: mode ``auto``/``none``/``labels`` from the sheet's
    ``interviewer`` column for this file, else ``roles.interviewer``."""
    value = str((meta.attrs or {}).get("interviewer") or "").strip() if meta is not None else ""
    method = "metadata"
    if not value:
        value, method = str(cfg.interviewer or "auto").strip(), "config"
    if fold_label(value) in ("auto", ""):
        return "auto", [], method
    if fold_label(value) in ("none", "aucun", "aucune", "sans", "-"):
        return "none", [], method
    return "labels", [x.strip() for x in value.split(";") if x.strip()], method


def assign_roles(transcript: Transcript, meta: InterviewMeta | None, cfg: RolesConfig) -> dict[str, RoleDecision]:
    """Role of every speaker label in ``transcript`` (see module docstring)."""
    stats = speaker_stats(transcript)
    labels = list(dict.fromkeys([t.speaker for t in transcript.turns] + [s.label for s in transcript.speakers]))
    for lb in labels:
        stats.setdefault(lb, _Stats())
    known = set(cfg.known or KNOWN_ROLES) | set(KNOWN_ROLES)
    out: dict[str, RoleDecision] = {}
    for row in (meta.speakers if meta is not None else []):
        for lb in labels:
            if lb not in out and fold_label(lb) == fold_label(row.speaker) and row.role:
                where = f"{Path(row.sheet).name} line {row.sheet_line}" if row.sheet else "speakers sheet"
                out[lb] = RoleDecision(row.role, "metadata", 1.0, f"speakers sheet ({where})")
    for lb in labels:
        r = _config_role(lb, cfg.map or {})
        if lb not in out and r is not None:
            out[lb] = RoleDecision(r, "config", 1.0, "roles.map")
    mode, itv_labels, itv_method = _interviewer_setting(meta, cfg)
    src = "the metadata sheet's interviewer column" if itv_method == "metadata" else "roles.interviewer"
    for name in itv_labels:
        for lb in labels:
            if lb not in out and fold_label(lb) == fold_label(name):
                out[lb] = RoleDecision(INTERVIEWER, itv_method, 1.0, f"named by {src}")

    rest = [lb for lb in labels if lb not in out]
    # marginal voices by label first, so that they never compete for the interviewer role
    relatives = [lb for lb in rest if is_relative_label(lb)]
    for lb in rest:
        if is_other_label(lb) and not is_relative_label(lb):
            out[lb] = RoleDecision(OTHER, "label-pattern", 0.9, "label of another voice")
    rest = [lb for lb in rest if lb not in out]
    no_itv = ""                      # evidence that the file has no interviewer
    if mode == "none":
        no_itv = f"no interviewer ({src} says none)"
    elif mode == "labels" and not any(d.role == INTERVIEWER for d in out.values()):
        no_itv = f"no speaker is named {' / '.join(itv_labels)} ({src})"
    elif not any(d.role == INTERVIEWER for d in out.values()):
        cands_all = [lb for lb in rest if lb not in relatives]
        found = [lb for lb in cands_all if is_interviewer_label(lb)]
        method, conf, evidence = "label-pattern", 0.95, "interviewer label"
        if not found and any(_RESP_CODE_RE.match(lb) for lb in labels):
            found = [lb for lb in cands_all if _INITIALS_RE.match(lb)]
            method, conf, evidence = "initials-code", 0.9, "initials next to respondent codes (ESLO)"
        if not found:
            top = max((stats[lb].words for lb in cands_all), default=0)
            cands = [lb for lb in cands_all if stats[lb].words >= max(MIN_WORDS, MIN_SHARE_OF_MAIN * top)]
            if len(cands) >= 2:
                sc = discourse_scores(stats, cands)
                ranked = sorted(cands, key=lambda c: (-sc[c], stats[c].first_turn))
                main = max((c for c in cands if c != ranked[0]), key=lambda c: stats[c].words)
                enough, evidence = interviewer_evidence(stats, ranked[0], main)
                if enough:
                    found = [ranked[0]]
                    method, conf = "discourse-features", round(0.5 + 0.5 * (sc[ranked[0]] - sc[ranked[1]]), 3)
                else:
                    no_itv = evidence
            elif len(cands_all) <= 1:
                evidence = "a single speaker"
        for lb in found:
            out[lb] = RoleDecision(INTERVIEWER, method, conf, evidence)
    rest = [lb for lb in rest if lb not in out]
    itv = [d for d in out.values() if d.role == INTERVIEWER]
    resp_conf = min([d.confidence for d in itv], default=0.5)
    main = max(rest, key=lambda lb: (stats[lb].words, -stats[lb].first_turn), default=None)
    main_words = stats[main].words if main else 0
    meta_role = meta.role if meta is not None and meta.role else None
    for lb in rest:
        w = stats[lb].words
        named = label_role(lb, known)
        if named:
            out[lb] = RoleDecision(named, "label-pattern", 0.95, "role named in the label")
        elif meta_role:
            out[lb] = RoleDecision(meta_role, "metadata", 1.0, "the interview's role (metadata sheet)"
                                   + ("" if lb == main else "; another interviewee of the file"))
        elif lb in relatives:
            out[lb] = RoleDecision(OTHER, "label-pattern", 0.9, "relative of the respondent (ESLO code)")
        elif no_itv:
            out[lb] = RoleDecision(RESPONDENT, NO_INTERVIEWER, 1.0 if mode != "auto" else 0.8, no_itv)
        elif lb != main and (w < MIN_WORDS or w < MIN_SHARE_OF_MAIN * main_words):
            out[lb] = RoleDecision(OTHER, "marginal", round(1 - w / max(main_words, 1), 3),
                                   f"{w} words, {w / max(main_words, 1):.0%} of the main respondent's")
        else:
            out[lb] = RoleDecision(RESPONDENT, itv[0].method if itv else "default", resp_conf,
                                   f"answers the interviewer ({itv[0].evidence})" if itv else "a single speaker")
    return {lb: out[lb] for lb in labels}
