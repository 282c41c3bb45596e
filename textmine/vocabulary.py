"""The role vocabulary: one definition of the speaker roles, their labels and pseudonym prefixes.

A speaker's role is ``interviewer``, a respondent role (one of :data:`KNOWN_ROLES`: the study's
roles, or ``respondent`` when nothing says which) or ``other`` (relatives, unidentified voices,
phone partners). :data:`ROLES` gives each its French and English label (attributions, reports,
quote banks) and the prefix of its speaker pseudonyms (``CONUM2``, ``ENQ1``); :data:`ROLE_ALIASES`
maps the folded, underscored words people write for a role to its code. Imports nothing.
"""
from __future__ import annotations

from typing import NamedTuple

INTERVIEWER = "interviewer"
RESPONDENT = "respondent"
OTHER = "other"


class RoleName(NamedTuple):
    fr: str         # label in French
    en: str         # label in English
    prefix: str     # speaker pseudonym prefix


#: every role, respondent roles first (their order is the quote banks' order)
ROLES: dict[str, RoleName] = {
    "conum": RoleName("Conum", "Digital advisor", "CONUM"),
    "responsable_structure": RoleName("Responsable de structure", "Structure manager", "RESP"),
    "coordinateur": RoleName("Coordinateur", "Coordinator", "COORD"),
    "elu": RoleName("Élu", "Elected official", "ELU"),
    "agent_france_services": RoleName("Agent France Services", "France Services agent", "AFS"),
    "travailleur_social": RoleName("Travailleur social", "Social worker", "TS"),
    "partenaire": RoleName("Partenaire", "Partner", "PART"),
    "usager": RoleName("Usager", "User", "USAGER"),
    RESPONDENT: RoleName("Enquêté", "Respondent", "REP"),
    INTERVIEWER: RoleName("Enquêteur", "Interviewer", "ENQ"),
    OTHER: RoleName("Autre", "Other", "AUTRE"),
}
#: the respondent roles (the study's roles, then ``respondent``)
KNOWN_ROLES: tuple[str, ...] = tuple(r for r in ROLES if r not in (INTERVIEWER, OTHER))
#: speaker pseudonym prefix of each role
ROLE_PREFIX: dict[str, str] = {r: v.prefix for r, v in ROLES.items()}
#: role label by language (``fr``, ``en``) and role
ROLE_LABELS: dict[str, dict[str, str]] = {"fr": {r: v.fr for r, v in ROLES.items()},
                                          "en": {r: v.en for r, v in ROLES.items()}}
#: another name of a role (folded, spaces as ``_``) -> its code
ROLE_ALIASES: dict[str, str] = {
    "elue": "elu", "conseiller_numerique": "conum", "conseillere_numerique": "conum",
    "coordinatrice": "coordinateur", "usagere": "usager", "responsable": "responsable_structure",
    "responsable_de_structure": "responsable_structure", "agente_france_services": "agent_france_services",
    "travailleuse_sociale": "travailleur_social", "partenaires": "partenaire", "usagers": "usager",
    "elus": "elu",
}
