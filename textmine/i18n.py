"""The UI strings of every output a reader sees, in French (default) and English: one table
per surface (the HTML report, the quote banks, attributions), each ``{language: {key: text}}``;
role labels come from the role vocabulary (:data:`textmine.vocabulary.ROLE_LABELS`).
Imports nothing of textmine but the vocabulary."""
from __future__ import annotations

from typing import Any

from .vocabulary import ROLE_LABELS

#: languages every table has (``report.language``)
LANGUAGES = ("fr", "en")

#: quote banks (.docx, .xlsx, .md)
QUOTE_BANK: dict[str, dict[str, Any]] = {
    "fr": {"title": "Banque de citations", "toc": "Sommaire", "wave": "Vague", "question": "Question",
           "source": "Source", "provenance": "Provenance", "appendix": "Annexe : provenance",
           "empty": "Aucune citation.", "empty_md": "_(aucune citation)_",
           "sheets": ("citations", "technique", "provenance"),
           "headers": {"quote_id": "Réf.", "theme_label": "Thème", "wave": "Vague", "role_label": "Rôle",
                       "question": "Question", "quote": "Citation", "attribution": "Attribution",
                       "source": "Source"}},
    "en": {"title": "Quote bank", "toc": "Contents", "wave": "Wave", "question": "Question",
           "source": "Source", "provenance": "Provenance", "appendix": "Appendix: provenance",
           "empty": "No quote.", "empty_md": "_(no quote)_",
           "sheets": ("quotes", "technical", "provenance"),
           "headers": {"quote_id": "Ref.", "theme_label": "Theme", "wave": "Wave", "role_label": "Role",
                       "question": "Question", "quote": "Quote", "attribution": "Attribution",
                       "source": "Source"}},
}

#: attributions ``(Conum, association, territoire D, vague 2)``: structure types (French only:
#: English keeps the code, underscores as spaces) and the territory and wave parts
ATTRIBUTION: dict[str, dict[str, Any]] = {
    "fr": {"territory": "territoire {}", "wave": "vague {}",
           "structures": {"association": "association", "commune": "commune",
                          "intercommunalite": "intercommunalité", "departement": "département",
                          "france_services": "France Services", "ccas": "CCAS", "centre_social": "centre social",
                          "mediatheque": "médiathèque", "prefecture": "préfecture"}},
    "en": {"territory": "territory {}", "wave": "wave {}", "structures": {}},
}


def strings(table: dict[str, dict[str, Any]], language: str) -> dict[str, Any]:
    """``table``'s strings in ``language`` (French for a language it does not have)."""
    return table.get(language, table["fr"])


#: the HTML report (``report.language``)
REPORT: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Rapport d'analyse thématique",
        "subtitle": "Corpus d'entretiens semi-directifs — évolution entre vagues",
        "privacy": "Textes pseudonymisés : noms de personnes, lieux et organisations remplacés ; "
                   "références de source pseudonymes.",
        "toc": "Sommaire",
        "overview": "Vue d'ensemble du corpus",
        "overview_fig": "Mots des enquêtés par vague et par rôle",
        "words": "mots",
        "wave": "Vague", "role": "Rôle", "territory": "Territoire", "interviews": "Entretiens",
        "segments": "Segments", "theme": "Thème", "share": "Part", "ci": "IC 95 %",
        "prevalence": "Prévalence des thèmes par vague",
        "prevalence_fig": "Part des segments des enquêtés codés par thème (IC 95 %)",
        "prevalence_note": "Part des segments des enquêtés portant le thème ; intervalle de confiance à 95 % "
                           "par bootstrap en grappes sur les entretiens ({n_boot} tirages, graine {seed}). "
                           "Les cellules de moins de {min_itv} entretiens sont grisées : non interprétables.",
        "share_segments": "part des segments",
        "changes": "Évolutions entre vagues",
        "changes_fig": "Évolution {a} → {b} (différence de part, IC 95 %)",
        "changes_note": "Δ = part en {b} − part en {a}. p : test de permutation des vagues entre entretiens "
                        "({n_perm} permutations) ; q : correction de Benjamini–Hochberg (taux de fausses "
                        "découvertes) par type d'élément. En gras : q < {alpha}.",
        "delta": "Δ", "p": "p", "q": "q", "status": "Statut",
        "significant": "significatif (q < {alpha})",
        "heatmaps": "Thèmes par rôle et par territoire",
        "heat_role": "Part des segments par thème et rôle",
        "heat_territory": "Part des segments par thème et territoire",
        "small_cells": "grisé / hachuré : moins de {min_itv} entretiens",
        "panel": "Panel : enquêtés interrogés aux deux vagues",
        "panel_none": "Aucun enquêté (respondent_id) n'a été interrogé aux deux vagues.",
        "panel_intro": "{n} enquêté(s) interrogé(s) en {a} et en {b} ; {m} ont changé de posture dominante.",
        "transitions_fig": "Posture dominante : transitions {a} → {b}",
        "from_wave": "vague {a}", "to_wave": "vague {b}",
        "movers": "Enquêtés dont la posture dominante a changé",
        "posture": "Posture",
        "theme_panel": "Évolution par enquêté (nombre d'enquêtés dont la part augmente / baisse)",
        "up": "hausse", "down": "baisse", "same": "stable", "mean_delta": "Δ moyen",
        "topics": "Sujets (topics) au fil des vagues",
        "topics_none": "Pas de modèle de sujets dans ce projet.",
        "topics_fig": "Part des segments par sujet et par vague (IC 95 %)",
        "appeared": "apparu", "vanished": "disparu",
        "quotes": "Extraits représentatifs par thème",
        "quotes_note": "Segments codés au score le plus élevé, un par entretien au plus, par vague.",
        "no_codings": "Aucun codage thématique dans ce projet : lancez `textmine themes apply`.",
        "lexicon": "Lexicométrie : spécificités et classes (méthode Reinert)",
        "spec_title": "Spécificités par {by} : ce que chaque groupe dit plus que les autres",
        "spec_note": "Spécificités de Lafon (modèle hypergéométrique, calcul de TXM) sur les lemmes des segments "
                     "pseudonymisés des enquêtés : score = log10 de la probabilité d'une fréquence au moins aussi "
                     "élevée (3 = une chance sur mille). Mots outils et marqueurs de l'oral exclus ; seuil de "
                     "banalité {banality}. Tailles : {sizes}.",
        "spec_none": "Une seule modalité de vague et de rôle : pas de spécificités à comparer.",
        "classes_title": "Classes lexicales (classification descendante hiérarchique de Reinert)",
        "classes_note": "{kind} de Reinert telle que la calcule rainette (k = {k}, {merge}, {min_split} segments "
                        "au moins pour diviser une classe) : {classified} segments classés sur {n} ({pct}). Profils : "
                        "mots et modalités les plus associés à chaque classe (chi² de présence dans les segments, "
                        "p < 0,05).",
        "classes_simple": "Classification", "classes_double": "Double classification",
        "classes_merge": "segments consécutifs d'un entretien regroupés jusqu'à {mss} mots pleins",
        "classes_nomerge": "segments non regroupés",
        "classes_none": "Pas de classification lexicale dans ce projet : lancez `textmine lexicon classes`.",
        "dendrogram": "Dendrogramme des classes : effectifs et mots les plus associés (chi²)",
        "dendrogram_read": "Lecture : chaque division sépare deux groupes de segments au vocabulaire le plus différent "
                           "(chi² maximal) ; les classes voisines dans l'arbre sont issues d'une même classe.",
        "class": "Classe", "top_words": "Mots (chi²)", "modalities": "Modalités", "share_by_wave": "Part de chaque vague",
        "crosstab_title": "Classes, sujets et thèmes",
        "crosstab_note": "Sujets (BERTopic) et thèmes du codebook sur-représentés dans chaque classe (chi² signé > 3,84) ; "
                         "entre parenthèses, la part des segments de la classe qui les portent.",
        "crosstab_none": "Ni codage thématique ni modèle de sujets à croiser avec les classes.",
        "topic_col": "Sujets",
        "class_segments": "Segments caractéristiques de chaque classe (somme des chi² de ses mots)",
        "segments_short": "seg.",
        "method": "Méthode",
        "method_text": "Unité d'analyse : segment d'un enquêté (rôles enquêteur et autres exclus). Trois mesures "
                       "disponibles (segments, mots, entretiens) ; ce rapport utilise la part des segments. "
                       "Codage : {coder}. Encodeur de phrases : {encoder}. Sujets : {topics}. Résultats "
                       "déterministes pour une même configuration (random_state = {seed}).",
        "method_codebook": "livre de codes « {name} » (version {version}, {n} thèmes, empreinte {hash})",
        "method_zeroshot": "codeur sans apprentissage (zero-shot) fondé sur les définitions, exemples et indices "
                           "du {codebook}",
        "method_supervised": "codeur supervisé entraîné sur des codages humains (modèle « {model} ») selon le "
                             "{codebook}",
        "method_none": "aucun codage thématique",
        "method_topics": "BERTopic, {n} sujets",
        "prevalence_read": "Point : part estimée ; trait : intervalle de confiance à 95 % ; point gris évidé : "
                           "moins de {min_itv} entretiens.",
        "changes_read": "Point : différence de part ; trait : intervalle de confiance à 95 % ; en rouge : "
                        "significatif après correction (q < {alpha}).",
        "heat_read": "Chaque case : part des segments des enquêtés du groupe portant le thème ; cases hachurées : "
                     "moins de {min_itv} entretiens, non interprétables.",
        "heat_merged": "Territoires regroupés faute d'entretiens (moins de {min_itv} chacun) : {groups}.",
        "estimator": "Estimation", "calibrated": "corrigé", "raw": "brut",
        "raw_mark": "brut : sortie du codeur, non corrigée par l'échantillon humain",
        "calibration": "Calibration humaine du codage",
        "calibration_none": "Aucun échantillon de calibration codé à la main : tous les chiffres de ce rapport sont la "
                            "sortie brute du codeur automatique (« brut »), dont les erreurs peuvent différer d'une "
                            "vague à l'autre. Pour des chiffres publiables : `textmine themes sample`, codage humain, "
                            "puis `textmine themes calibrate`.",
        "calibration_note": "Chiffres « corrigés » : estimateur d'apprentissage supervisé fondé sur le plan de "
                            "sondage (Egami et al. 2023) à partir d'un échantillon aléatoire de segments codés à la "
                            "main ; sans biais quelle que soit la qualité du codeur, intervalles par bootstrap en "
                            "grappes sur les entretiens. « Brut » : sortie du codeur (sujets, cellules de moins de "
                            "{min_coded} segments codés, vagues non couvertes).",
        "calibration_samples": "Échantillons utilisés : {samples}.",
        "agreement_wave": "Accord du codeur avec le codage humain, vague {w} (échantillon {s}, n = {n})",
        "agreement_note": "Calculé sur les segments codés de l'échantillon (un sur-échantillonnage des segments "
                          "incertains abaisse ces valeurs).",
        "drift": "Évolution du taux d'erreur du codeur entre vagues",
        "drift_warn": "Attention : le taux d'erreur du codeur sur {t} passe de {a} ({wa}) à {b} ({wb}), q = {q} : "
                      "les évolutions brutes entre ces vagues sont biaisées ; les chiffres corrigés en tiennent compte.",
        "error_rate": "taux d'erreur", "precision": "précision", "recall": "rappel",
        "heat_mixed": "{n_cal} cellules corrigées, {n_raw} brutes (moins de {min_coded} segments codés à la main).",
        "none": "aucun",
    },
    "en": {
        "title": "Thematic analysis report",
        "subtitle": "Semi-structured interview corpus — change across waves",
        "privacy": "Pseudonymised texts: names of people, places and organisations replaced; pseudonymous "
                   "source references.",
        "toc": "Contents",
        "overview": "Corpus overview",
        "overview_fig": "Respondent words by wave and role",
        "words": "words",
        "wave": "Wave", "role": "Role", "territory": "Territory", "interviews": "Interviews",
        "segments": "Segments", "theme": "Theme", "share": "Share", "ci": "95 % CI",
        "prevalence": "Theme prevalence by wave",
        "prevalence_fig": "Share of respondent segments coded with each theme (95 % CI)",
        "prevalence_note": "Share of respondent segments carrying the theme; 95 % confidence interval from a "
                           "cluster bootstrap over interviews ({n_boot} resamples, seed {seed}). Cells with "
                           "fewer than {min_itv} interviews are greyed out: not interpretable.",
        "share_segments": "share of segments",
        "changes": "Changes between waves",
        "changes_fig": "Change {a} → {b} (difference in share, 95 % CI)",
        "changes_note": "Δ = share in {b} − share in {a}. p: permutation test of wave labels across interviews "
                        "({n_perm} permutations); q: Benjamini–Hochberg correction (false discovery rate) per "
                        "kind of item. Bold: q < {alpha}.",
        "delta": "Δ", "p": "p", "q": "q", "status": "Status",
        "significant": "significant (q < {alpha})",
        "heatmaps": "Themes by role and territory",
        "heat_role": "Share of segments by theme and role",
        "heat_territory": "Share of segments by theme and territory",
        "small_cells": "grey / hatched: fewer than {min_itv} interviews",
        "panel": "Panel: respondents interviewed in both waves",
        "panel_none": "No respondent (respondent_id) was interviewed in both waves.",
        "panel_intro": "{n} respondent(s) interviewed in {a} and {b}; {m} changed dominant posture.",
        "transitions_fig": "Dominant posture: transitions {a} → {b}",
        "from_wave": "wave {a}", "to_wave": "wave {b}",
        "movers": "Respondents whose dominant posture changed",
        "posture": "Posture",
        "theme_panel": "Change per respondent (number of respondents whose share rises / falls)",
        "up": "up", "down": "down", "same": "same", "mean_delta": "mean Δ",
        "topics": "Topics across waves",
        "topics_none": "No topic model in this project.",
        "topics_fig": "Share of segments by topic and wave (95 % CI)",
        "appeared": "appeared", "vanished": "vanished",
        "quotes": "Representative excerpts by theme",
        "quotes_note": "Highest-scoring coded segments, at most one per interview, per wave.",
        "no_codings": "No theme codings in this project: run `textmine themes apply`.",
        "lexicon": "Lexicometry: specificities and classes (Reinert's method)",
        "spec_title": "Specificities by {by}: what each group says more than the others",
        "spec_note": "Lafon's specificities (hypergeometric model, as TXM computes them) on the lemmas of the "
                     "respondents' pseudonymised segments: score = log10 of the probability of a frequency at least "
                     "this high (3 = one chance in a thousand). Function words and oral markers left out; banality "
                     "threshold {banality}. Sizes: {sizes}.",
        "spec_none": "A single wave and a single role: no specificities to compare.",
        "classes_title": "Lexical classes (Reinert's descending hierarchical classification)",
        "classes_note": "Reinert's {kind} as rainette computes it (k = {k}, {merge}, at least {min_split} segments to "
                        "split a class): {classified} of {n} segments classified ({pct}). Profiles: the words and "
                        "modalities most associated with each class (chi-square of presence in segments, p < 0.05).",
        "classes_simple": "classification", "classes_double": "double classification",
        "classes_merge": "consecutive segments of an interview merged up to {mss} full words",
        "classes_nomerge": "segments not merged",
        "classes_none": "No lexical classification in this project: run `textmine lexicon classes`.",
        "dendrogram": "Class dendrogram: sizes and most associated words (chi-square)",
        "dendrogram_read": "How to read: each split separates the two groups of segments whose vocabularies differ "
                           "most (largest chi-square); neighbouring classes in the tree come from the same class.",
        "class": "Class", "top_words": "Words (chi2)", "modalities": "Modalities", "share_by_wave": "Share of each wave",
        "crosstab_title": "Classes, topics and themes",
        "crosstab_note": "BERTopic topics and codebook themes over-represented in each class (signed chi-square > "
                         "3.84); in brackets, the share of the class's segments carrying them.",
        "crosstab_none": "No theme coding and no topic model to cross the classes with.",
        "topic_col": "Topics",
        "class_segments": "Characteristic segments of each class (sum of the chi-squares of its words)",
        "segments_short": "seg.",
        "method": "Method",
        "method_text": "Unit of analysis: a respondent's segment (interviewer and other voices excluded). Three "
                       "measures are available (segments, words, interviews); this report uses the share of "
                       "segments. Coding: {coder}. Sentence encoder: {encoder}. Topics: {topics}. Results are "
                       "deterministic for a given configuration (random_state = {seed}).",
        "method_codebook": "codebook “{name}” (version {version}, {n} themes, fingerprint {hash})",
        "method_zeroshot": "zero-shot coder built on the definitions, examples and cues of the {codebook}",
        "method_supervised": "supervised coder trained on human codings (model “{model}”) with the {codebook}",
        "method_none": "no theme coding",
        "method_topics": "BERTopic, {n} topics",
        "prevalence_read": "Dot: estimated share; bar: 95 % confidence interval; hollow grey dot: fewer than "
                           "{min_itv} interviews.",
        "changes_read": "Dot: difference in share; bar: 95 % confidence interval; red: significant after "
                        "correction (q < {alpha}).",
        "heat_read": "Each cell: share of the group's respondent segments carrying the theme; hatched cells: fewer "
                     "than {min_itv} interviews, not interpretable.",
        "heat_merged": "Territories pooled for lack of interviews (fewer than {min_itv} each): {groups}.",
        "estimator": "Estimator", "calibrated": "corrected", "raw": "raw",
        "raw_mark": "raw: the coder's output, not corrected with the human sample",
        "calibration": "Human calibration of the coding",
        "calibration_none": "No hand-coded calibration sample: every figure of this report is the automatic coder's "
                            "raw output (\u201craw\u201d), whose errors can differ from one wave to the next. For "
                            "publishable figures: `textmine themes sample`, human coding, then "
                            "`textmine themes calibrate`.",
        "calibration_note": "\u201cCorrected\u201d figures: design-based supervised learning (Egami et al. 2023) "
                            "from a random sample of hand-coded segments; unbiased whatever the coder's accuracy, "
                            "intervals from a cluster bootstrap over interviews. \u201cRaw\u201d: the coder's "
                            "output (topics, cells with fewer than {min_coded} coded segments, waves not covered).",
        "calibration_samples": "Samples used: {samples}.",
        "agreement_wave": "Coder agreement with the human coding, wave {w} (sample {s}, n = {n})",
        "agreement_note": "Computed on the sample's coded segments (over-sampling uncertain segments lowers these "
                          "figures).",
        "drift": "Change of the coder's error rate between waves",
        "drift_warn": "Warning: the coder's error rate on {t} goes from {a} ({wa}) to {b} ({wb}), q = {q}: raw changes "
                      "between these waves are biased; the corrected figures account for it.",
        "error_rate": "error rate", "precision": "precision", "recall": "recall",
        "heat_mixed": "{n_cal} cells corrected, {n_raw} raw (fewer than {min_coded} hand-coded segments).",
        "none": "none",
    },
}


__all__ = ["ATTRIBUTION", "LANGUAGES", "QUOTE_BANK", "REPORT", "ROLE_LABELS", "strings"]
