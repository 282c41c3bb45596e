"""Regenerate the demo corpus from its text sources (fictional interviews written for textmine).

Sources: ``_build/src/<interview_id>.txt``, one speaker turn per paragraph (``Label : text``,
paragraphs separated by a blank line). Coded passages of the answer key are marked inside
respondent turns as ``{{codes}}passage{{/}}`` where codes are short theme names (see CODES)
and ``pos:A|P|M`` for the posture sub-label. Markers are stripped from every rendered file.

Run from the repository root:  .venv/bin/python corpus/demo/_build/build_corpus.py
Writes corpus/demo/vague1/*, corpus/demo/vague2/* (all formats, metadata.csv / metadata.xlsx)
and corpus/demo/answer_key.csv. Binary formats (.docx, .odt) come from build_binaries.py.
Deterministic: same sources -> byte-identical text outputs.
"""
from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent
SRC = HERE / "src"

CODES = {
    "pos": "posture_faire_avec_vs_a_la_place",
    "prec": "precarite",
    "coord": "coordination_territoriale",
    "fin": "financement_renouvellement",
    "dem": "demarches_administratives",
    "efs": "france_services",
    "pub": "publics_usagers",
    "mod": "modalites_intervention",
    "elu": "pilotage_politique_elus",
    "form": "formation_recrutement_professionnalisation",
    "reco": "reconnaissance_isolement",
}
POSTURES = {"A": "faire_avec", "P": "faire_a_la_place", "M": "mixte"}

# interview_id, file (relative to the wave folder), format, interviewer labels, date, territory,
# structure_type, respondent_id, role, genre, anciennete_mois
INTERVIEWS = [
    ("V1-A-CONUM-01", "entretien_01_conum_A.txt", "txt_ts", "2022-04-12", "A", "association", "R01", "conum", "F", 9),
    ("V1-A-CONUM-02", "entretien_02_conum_A.md", "md", "2022-04-14", "A", "commune", "R02", "conum", "H", 7),
    ("V1-B-CONUM-03", "entretien_03_conum_B.docx", "docx", "2022-05-03", "B", "intercommunalite", "R03", "conum", "F", 10),
    ("V1-C-CONUM-04", "entretien_04_conum_C.odt", "odt", "2022-05-10", "C", "mediatheque", "R04", "conum", "H", 8),
    ("V1-C-CONUM-05", "entretien_05_conum_C.csv", "csv", "2022-05-11", "C", "ccas", "R05", "conum", "F", 6),
    ("V1-D-CONUM-06", "entretien_06_conum_D.vtt", "vtt", "2022-05-24", "D", "centre_social", "R06", "conum", "F", 11),
    ("V1-B-COORD-07", "entretien_07_coordinateur_B.txt", "txt_cp1252", "2022-06-02", "B", "departement", "R07", "coordinateur", "H", 14),
    ("V1-E-CONUM-08", "entretien_08_conum_E.srt", "srt", "2022-06-09", "E", "france_services", "R08", "conum", "H", 8),
    ("V1-D-RESP-09", "entretien_09_responsable_D.md", "md", "2022-06-15", "D", "association", "R09", "responsable_structure", "F", 60),
    ("V1-E-ELU-10", "entretien_10_elu_E.docx", "docx", "2022-06-30", "E", "commune", "R10", "elu", "H", None),
    ("V2-A-CONUM-01", "entretien_01_conum_A.docx", "docx", "2023-04-18", "A", "association", "R01", "conum", "F", 21),
    ("V2-A-CONUM-02", "entretien_02_conum_A.txt", "txt_ts", "2023-04-20", "A", "commune", "R02", "conum", "H", 19),
    ("V2-B-CONUM-03", "entretien_03_conum_B.md", "md", "2023-05-09", "B", "intercommunalite", "R03", "conum", "F", 22),
    ("V2-C-CONUM-04", "entretien_04_conum_C.srt", "srt", "2023-05-16", "C", "mediatheque", "R04", "conum", "H", 20),
    ("V2-C-CONUM-05", "entretien_05_conum_C.txt", "txt", "2023-05-17", "C", "ccas", "R05", "conum", "F", 18),
    ("V2-D-CONUM-06", "entretien_06_conum_D.odt", "odt", "2023-05-30", "D", "centre_social", "R06", "conum", "F", 23),
    ("V2-B-COORD-07", "entretien_07_coordinateur_B.trs", "trs", "2023-06-06", "B", "departement", "R07", "coordinateur", "H", 26),
    ("V2-E-CONUM-11", "entretien_11_conum_E.vtt", "vtt", "2023-06-13", "E", "intercommunalite", "R11", "conum", "F", 5),
    ("V2-A-AFS-12", "entretien_12_agent_france_services_A.csv", "csv", "2023-06-20", "A", "france_services", "R12", "agent_france_services", "F", 30),
    ("V2-C-TS-13", "entretien_13_travailleur_social_C.txt", "txt", "2023-07-04", "C", "departement", "R13", "travailleur_social", "H", 96),
]
INTERVIEWER_LABELS = {"Enquêtrice", "Enquêteur", "E", "Q", "CM"}
OTHER_LABELS = {"Collègue", "Voix"}

MARK = re.compile(r"\{\{([^}]*)\}\}(.*?)\{\{/\}\}", re.S)


def wave_dir(iid: str) -> Path:
    return DEMO / ("vague1" if iid.startswith("V1") else "vague2")


def parse_source(iid: str):
    """Return [(label, clean_text, [(codes, passage)])] for one source file."""
    raw = (SRC / f"{iid}.txt").read_text(encoding="utf-8")
    turns = []
    for para in re.split(r"\n\s*\n", raw.strip()):
        para = " ".join(para.split())
        label, sep, text = para.partition(" : ")
        if not sep or not label or len(label) > 30:
            raise SystemExit(f"{iid}: paragraph without 'Label : ' -> {para[:60]!r}")
        passages = [(m.group(1).strip(), m.group(2).strip()) for m in MARK.finditer(text)]
        clean = MARK.sub(lambda m: m.group(2), text)
        if "{{" in clean or "}}" in clean:
            raise SystemExit(f"{iid}: unbalanced marker in turn {para[:60]!r}")
        if passages and (label in INTERVIEWER_LABELS or label in OTHER_LABELS):
            raise SystemExit(f"{iid}: coded passage in a non-respondent turn ({label})")
        turns.append((label, clean, passages))
    return turns


def times(turns):
    """Deterministic (start, end) seconds per turn: ~2.6 words/s plus a short pause."""
    t, out = 3.0, []
    for _, text, _ in turns:
        d = round(len(text.split()) / 2.6 + 0.6, 1)
        out.append((round(t, 1), round(t + d, 1)))
        t += d + 0.9
    return out


def hms(s: float, sep: str = ",") -> str:
    ms = int(round(s * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    sec, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{sec:02d}{sep}{ms:03d}"


def render_text(turns, fmt: str, iid: str) -> str:
    tt = times(turns)
    if fmt in ("txt", "txt_cp1252"):
        return "\n\n".join(f"{lab} : {text}" for lab, text, _ in turns) + "\n"
    if fmt == "txt_ts":
        return "\n\n".join(f"[{hms(s)[:8]}] {lab} : {text}" for (lab, text, _), (s, _) in zip(turns, tt)) + "\n"
    if fmt == "md":
        head = f"# Entretien {iid}\n\n*Transcription intégrale, anonymisée par l'équipe d'enquête.*\n\n"
        return head + "\n\n".join(f"**{lab}** : {text}" for lab, text, _ in turns) + "\n"
    if fmt == "srt":
        return "\n".join(f"{i}\n{hms(s)} --> {hms(e)}\n{lab} : {text}\n"
                         for i, ((lab, text, _), (s, e)) in enumerate(zip(turns, tt), 1))
    if fmt == "vtt":
        return "WEBVTT\n\n" + "\n".join(f"{hms(s, '.')} --> {hms(e, '.')}\n{lab} : {text}\n"
                                         for (lab, text, _), (s, e) in zip(turns, tt))
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["speaker", "text", "start", "end"])
        for (lab, text, _), (s, e) in zip(turns, tt):
            w.writerow([lab, text, f"{s:.1f}", f"{e:.1f}"])
        return buf.getvalue()
    if fmt == "trs":
        return render_trs(turns, tt, iid)
    raise ValueError(fmt)


def render_trs(turns, tt, iid: str) -> str:
    labels = list(dict.fromkeys(lab for lab, _, _ in turns))
    spk = {lab: f"spk{i}" for i, lab in enumerate(labels, 1)}
    end = tt[-1][1]
    out = ['<?xml version="1.0" encoding="ISO-8859-1"?>', '<!DOCTYPE Trans SYSTEM "trans-14.dtd">',
           f'<Trans scribe="equipe-enquete" audio_filename="{iid}" version="3" version_date="230612">',
           "<Speakers>"]
    for lab in labels:
        out.append(f'<Speaker id="{spk[lab]}" name={quoteattr(lab)} check="no" dialect="native" '
                   'accent="" scope="local"/>')
    out += ["</Speakers>", "<Episode>", f'<Section type="report" startTime="0" endTime="{end}">']
    for (lab, text, _), (s, e) in zip(turns, tt):
        body = escape(text).replace("[rires]", '<Event desc="rires" type="noise" extent="instantaneous"/>')
        out += [f'<Turn speaker="{spk[lab]}" startTime="{s}" endTime="{e}">', f'<Sync time="{s}"/>', body, "</Turn>"]
    out += ["</Section>", "</Episode>", "</Trans>", ""]
    return "\n".join(out)


def write_text(path: Path, text: str, fmt: str) -> None:
    if fmt == "txt_cp1252":
        path.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    elif fmt == "trs":
        path.write_bytes(text.encode("iso-8859-1", errors="xmlcharrefreplace"))
    else:
        path.write_text(text, encoding="utf-8")


def decode_codes(codes: str, where: str):
    themes, posture = [], ""
    for c in codes.split():
        name, _, sub = c.partition(":")
        if name not in CODES:
            raise SystemExit(f"{where}: unknown code {c!r}")
        if name == "pos":
            posture = POSTURES[sub]
        themes.append(CODES[name])
    return ";".join(dict.fromkeys(themes)), posture


def main() -> int:
    from build_binaries import write_docx, write_odt  # same folder

    meta_rows = {"vague1": [], "vague2": []}
    key_rows = []
    for iid, fname, fmt, date, terr, stype, rid, role, genre, anc in INTERVIEWS:
        if not (SRC / f"{iid}.txt").exists():
            print(f"skip {iid}: no source yet", file=sys.stderr)
            continue
        turns = parse_source(iid)
        out = wave_dir(iid) / fname
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "docx":
            write_docx(out, iid, date, [(lab, text) for lab, text, _ in turns])
        elif fmt == "odt":
            write_odt(out, iid, date, [(lab, text) for lab, text, _ in turns])
        else:
            write_text(out, render_text(turns, fmt, iid), fmt)
        wave = "2022" if iid.startswith("V1") else "2023"
        meta_rows[out.parent.name].append({
            "file": fname, "interview_id": iid, "wave": wave, "date": date, "territory": terr,
            "structure_type": stype, "respondent_id": rid, "role": role, "genre": genre,
            "anciennete_mois": "" if anc is None else anc})
        for lab, text, passages in turns:
            for codes, passage in passages:
                n = len(passage.split())
                if not 30 <= n <= 150:
                    raise SystemExit(f"{iid}: coded passage of {n} words: {passage[:60]!r}")
                if fmt == "trs" and "[rires]" in passage:
                    raise SystemExit(f"{iid}: [rires] becomes an XML Event in .trs; keep it out of coded passages")
                themes, posture = decode_codes(codes, iid)
                key_rows.append({"text": passage, "themes": themes, "posture": posture,
                                 "interview_id": iid, "wave": wave, "role": role})
    for d in ("vague1", "vague2"):
        (DEMO / d).mkdir(exist_ok=True)
    cols = ["file", "interview_id", "wave", "date", "territory", "structure_type", "respondent_id",
            "role", "genre", "anciennete_mois"]
    # the two extra columns hold no personal data: declared safe to export (`public:` header prefix)
    header = {c: f"public:{c}" if c in ("genre", "anciennete_mois") else c for c in cols}
    with open(DEMO / "vague1" / "metadata.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, cols, lineterminator="\n")
        w.writerow(header)
        w.writerows(meta_rows["vague1"])
    write_xlsx(DEMO / "vague2" / "metadata.xlsx", cols, meta_rows["vague2"])
    with open(DEMO / "answer_key.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, ["id", "text", "themes", "posture", "interview_id", "wave", "role"],
                           lineterminator="\n")
        w.writeheader()
        for i, row in enumerate(key_rows, 1):
            w.writerow({"id": f"K{i:03d}", **row})
    print(f"{sum(map(len, meta_rows.values()))} interviews, {len(key_rows)} coded passages")
    return 0


def write_xlsx(path: Path, cols, rows) -> None:
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "entretiens"
    ws.append([f"public:{c}" if c in ("genre", "anciennete_mois") else c for c in cols])
    for r in rows:
        vals = []
        for c in cols:
            v = r[c]
            if c == "wave":
                v = int(v)
            elif c == "date":
                v = dt.date.fromisoformat(v)
            elif c == "anciennete_mois" and v != "":
                v = int(v)
            vals.append(None if v == "" else v)
        ws.append(vals)
    for row in ws.iter_rows(min_row=2, min_col=4, max_col=4):
        row[0].number_format = "yyyy-mm-dd"
    wb.properties.creator = "textmine demo"
    fixed = dt.datetime(2023, 7, 10, 12, 0, 0)
    wb.properties.created = wb.properties.modified = fixed
    wb.save(path)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
