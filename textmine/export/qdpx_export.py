"""REFI-QDA project export (``.qdpx`` = zip of ``project.qde`` + ``Sources/<guid>.txt``).

Each interview becomes a plain-text source named ``<interview_id>.txt`` (whatever the
transcript's original format: QDA programs treat the name's extension as the file type).
Its text is one line per segment, ``<speaker>: <text>\n`` (pseudonymised speaker and text
unless ``reveal``). Theme codings of the current run (assigned) become
``PlainTextSelection`` elements over exactly the segment's text: ``startPosition``/
``endPosition`` are 0-based character (Unicode code point) offsets into the source text,
end exclusive. Each selection's ``Description`` is its place in the transcript, as the quote
banks cite it (:func:`textmine.attribution.source_ref`: ``itv-3f2a.trs, 00:12:03``, or
``…, l. 42`` without a time; the real file name only with ``reveal``). The codebook gives one code per theme, named by its label, with its sub-labels
(the posture theme's faire_avec...) as child codes named by their labels (:func:`code_names`),
plus a "Topics" group with one code per topic of the current topic model. A sub-label whose label
reads like another code's (``Autre`` in two themes, or a sub-label named like another theme) gets
its theme's label after it, ``Autre (Précarité)``: QDA programs that know codes by name
(QualCoder) would merge the two codes and their codings.

The variables wave, territory, role, respondent and structure_type are written twice, as two
sets of variables: ``wave``... on the source itself (file or document variables: QualCoder's
file attributes, MAXQDA's document variables) and ``Cases:wave``... on each interview's case
(linked to its source). They are apart because QualCoder keeps one kind per variable name: a
variable that any named case carries becomes a case attribute there, and its values on the
sources are hidden from the file manager and the file filters (QualCoder also drops the
case-to-source link, so case attributes alone select no text). Every source, selection and
coding names its creator, the user ``textmine (<coder model>)``, and a creation date (the
theme run's date for codings, the ingestion date for sources), so a QDA program keeps them
apart from human coders.

GUIDs are UUID5 of stable keys, so exporting the same project twice gives the same ids.
"""
from __future__ import annotations

import datetime as _dt
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..attribution import source_ref
from ..store import Store
from ..themes.codebook import Codebook, label_key, load_codebook
from ..themes.codings import assigned, current_run, current_run_record
from ..topics import query as topic_query
from .files import atomic_write

NS = "urn:QDA-XML:project:1.0"
_NS_UUID = uuid.UUID("5b0c1d2e-7a1f-4c55-9f0e-3e7f6a2b9c10")
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf", "#aec7e8", "#ffbb78"]
CASE_VARIABLES = ("wave", "territory", "role", "respondent", "structure_type")
#: prefix of the case variables' names (``Cases:wave``), as NVivo names a classification's attributes
CASE_PREFIX = "Cases:"
THEME_DESC = "textmine theme id: "
POSTURE_DESC = "textmine posture: "


def guid(*key: Any) -> str:
    return str(uuid.uuid5(_NS_UUID, "|".join(str(k) for k in key)))


def code_names(codebook: Codebook) -> dict[tuple[str, str | None], str]:
    """The code name of each theme, ``(theme id, None)``, and of each sub-label, ``(theme id,
    sub-label id)``. A theme's code is named by its label (unique in a codebook), a sub-label's by its
    label, unless that label reads the same (:func:`~textmine.themes.codebook.label_key`: case,
    accents and spacing aside) as a theme's label or another sub-label's: then it is
    ``<label> (<theme label>)``, and ``<label> (<theme label>, <sub-label id>)`` when that is still
    taken (two sub-labels of one theme with the same label). Codebooks without such collisions keep
    the plain labels."""
    names: dict[tuple[str, str | None], str] = {(t.id, None): t.label for t in codebook.themes}
    subs = [(t, sid, str(sub.label)) for t in codebook.themes for sid, sub in t.sublabels.items()]
    theme_keys = {label_key(t.label) for t in codebook.themes}
    counts = Counter(label_key(lab) for _, _, lab in subs)

    def clashes(lab: str) -> bool:
        return label_key(lab) in theme_keys or counts[label_key(lab)] > 1
    taken = theme_keys | {label_key(lab) for _, _, lab in subs if not clashes(lab)}
    for t, sid, lab in subs:
        name = lab
        if clashes(lab):
            tries = [f"{lab} ({t.label})", f"{lab} ({t.label}, {sid})"]
            name = next((n for n in tries if label_key(n) not in taken), None)
            k = 2
            while name is None:                     # a theme label that reads like a suffixed name
                cand = f"{lab} ({t.label}, {sid}) {k}"
                name, k = (cand if label_key(cand) not in taken else None), k + 1
            taken.add(label_key(name))
        names[(t.id, sid)] = name
    return names


def _el(parent, tag: str, **attrs) -> ET.Element:
    return ET.SubElement(parent, f"{{{NS}}}{tag}", {k: str(v) for k, v in attrs.items() if v is not None})


def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v) or str(v).strip() == "":
        return None
    return str(v)


def source_text(segs: pd.DataFrame, reveal: bool = False) -> tuple[str, dict[str, tuple[int, int]]]:
    """Plain text of one interview and ``segment_id -> (start, end)`` of each segment's text."""
    parts, spans, pos = [], {}, 0
    for r in segs.itertuples(index=False):
        who = (r.speaker if reveal else r.speaker_pseudo) or r.role or "?"
        body = " ".join(str((r.text if reveal else r.text_pseudo) or "").split())
        head = f"{who}: "
        spans[r.segment_id] = (pos + len(head), pos + len(head) + len(body))
        line = head + body + "\n"
        parts.append(line)
        pos += len(line)
    return "".join(parts), spans


def _topics(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    model = topic_query.current_model_id(store, required=False)
    if not model:
        return pd.DataFrame(), pd.DataFrame()
    return topic_query.topic_labels(store, model), topic_query.topic_rows(store, model, ("segment_id", "topic"))


def xsd_datetime(value: Any) -> str | None:
    """An ISO date/time as an ``xsd:dateTime`` in UTC (``2024-03-01T10:00:00Z``), or None."""
    text = _text(value)
    if text is None:
        return None
    try:
        d = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.timezone.utc)
    return d.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _coder(store: Store) -> tuple[str, str | None]:
    """``(user name, coding date)`` of the current theme run (``textmine`` and None without one)."""
    run = current_run_record(store)
    if run is None:
        return "textmine", None
    model = _text(run.get("model_id"))
    return (f"textmine ({model})" if model else "textmine"), xsd_datetime(run.get("applied_at"))


def _variable_values(parent, values: dict[str, Any], var_guid: dict[str, str]) -> None:
    for v in CASE_VARIABLES:
        val = _text(values.get(v))
        if val is None:
            continue
        vv = _el(parent, "VariableValue")
        _el(vv, "VariableRef", targetGUID=var_guid[v])
        ET.SubElement(vv, f"{{{NS}}}TextValue").text = val


def build_project(store: Store, reveal: bool = False, *, segment_ids: set[str] | None = None,
                  codings: bool = True, name: str = "textmine project",
                  description: str | None = None) -> tuple[ET.Element, dict[str, str]]:
    """``(project.qde root element, {source guid: plain text})``. ``segment_ids`` keeps only those
    segments (and their interviews) in the sources; ``codings=False`` leaves out the coder's theme
    codings and the topics (a sheet for blind human coding)."""
    ET.register_namespace("", NS)
    cb = load_codebook(store.config.codebook_path())
    interviews = store.interviews_frame()
    user_name, coded_at = _coder(store)
    ingested = {r.interview_id: xsd_datetime(r.ingested_at) for r in interviews.itertuples(index=False)}
    created = coded_at or max((d for d in ingested.values() if d), default=None)
    user = guid("user", user_name)
    root = ET.Element(f"{{{NS}}}Project", {k: v for k, v in {
        "name": name, "origin": f"textmine {__version__}", "creatingUserGUID": user,
        "creationDateTime": created}.items() if v})
    users = _el(root, "Users")
    _el(users, "User", guid=user, name=user_name, id="textmine")
    # ---- codebook: themes (+ posture sub-labels), topics
    codes = _el(_el(root, "CodeBook"), "Codes")
    code_of: dict[tuple[str, str | None], str] = {}
    code_name = code_names(cb)
    for i, th in enumerate(cb.themes):
        g = guid("theme", th.id)
        c = _el(codes, "Code", guid=g, name=code_name[(th.id, None)], isCodable="true", color=COLORS[i % len(COLORS)])
        ET.SubElement(c, f"{{{NS}}}Description").text = THEME_DESC + th.id
        code_of[(th.id, None)] = g
        for sid in th.sublabels:
            sg = guid("posture", th.id, sid)
            sc = _el(c, "Code", guid=sg, name=code_name[(th.id, sid)], isCodable="true", color=COLORS[i % len(COLORS)])
            ET.SubElement(sc, f"{{{NS}}}Description").text = POSTURE_DESC + sid
            code_of[(th.id, sid)] = sg
    tinfo, tasg = _topics(store) if codings else (pd.DataFrame(), pd.DataFrame())
    topic_code: dict[int, str] = {}
    if len(tinfo):
        tg = _el(codes, "Code", guid=guid("topics"), name="Topics", isCodable="false")
        for r in tinfo.itertuples(index=False):
            topic_code[int(r.topic)] = guid("topic", int(r.topic), r.label)
            _el(tg, "Code", guid=topic_code[int(r.topic)], name=f"Topic {int(r.topic)}: {r.label}", isCodable="true")
    # ---- variables
    variables = _el(root, "Variables")
    var_guid = {v: guid("variable", v) for v in CASE_VARIABLES}          # on the sources
    case_guid = {v: guid("case variable", v) for v in CASE_VARIABLES}    # on the cases
    for names, prefix in ((var_guid, ""), (case_guid, CASE_PREFIX)):
        for v, g in names.items():
            _el(variables, "Variable", guid=g, name=prefix + v, typeOfVariable="Text")
    # ---- codings per segment
    cod = pd.DataFrame(columns=["segment_id", "theme", "posture"])
    if codings:
        run_id = current_run(store, required=False)
        if run_id is not None:   # without a theme run: sources, cases and topics only
            cod = assigned(store, run_id, ("segment_id", "theme", "posture"), ordered=True)
    seg_codes: dict[str, list[str]] = {}
    for r in cod.itertuples(index=False):
        post = r.posture if isinstance(r.posture, str) and (r.theme, r.posture) in code_of else None
        g = code_of.get((r.theme, post))
        if g:
            seg_codes.setdefault(r.segment_id, []).append(g)
    for r in tasg.itertuples(index=False):
        if int(r.topic) in topic_code:
            seg_codes.setdefault(r.segment_id, []).append(topic_code[int(r.topic)])
    # ---- cases and sources
    segs = store.segments_frame(roles="all")
    if segment_ids is not None:
        segs = segs[segs["segment_id"].isin(segment_ids)]
        interviews = interviews[interviews["interview_id"].isin(set(segs["interview_id"]))]
    cases = _el(root, "Cases")
    sources = _el(root, "Sources")
    texts: dict[str, str] = {}
    by_itv = {iid: g for iid, g in segs.groupby("interview_id", sort=False)}
    empty = segs.iloc[:0]
    stamp = {"creatingUser": user, "creationDateTime": created}     # the run's date (older stores: ingestion)
    for itv in interviews.itertuples(index=False):
        iid = itv.interview_id
        sg = guid("source", iid)
        rows = by_itv.get(iid, empty)
        text, spans = source_text(rows, reveal)
        refs = {r["segment_id"]: source_ref(r, reveal) for r in rows.to_dict("records")}
        texts[sg] = text
        original = (Path(str(itv.source_file).replace("\\", "/")).name if reveal else _text(itv.source_pseudo)) or iid
        src = _el(sources, "TextSource", guid=sg, name=f"{iid}.txt", plainTextPath=f"internal://{sg}.txt",
                  creatingUser=user, creationDateTime=ingested.get(iid))
        ET.SubElement(src, f"{{{NS}}}Description").text = (
            f"{original}: transcript as plain text, one line per segment (speaker: text)")
        for sid, (a, b) in spans.items():
            if sid not in seg_codes or b <= a:
                continue
            sel = _el(src, "PlainTextSelection", guid=guid("selection", sid), name=sid,
                      startPosition=a, endPosition=b, **stamp)
            # where the passage is in the transcript, as the quote banks cite it
            ET.SubElement(sel, f"{{{NS}}}Description").text = refs[sid]
            for cg in dict.fromkeys(seg_codes[sid]):
                coding = _el(sel, "Coding", guid=guid("coding", sid, cg), **stamp)
                _el(coding, "CodeRef", targetGUID=cg)
        values = {"wave": itv.wave, "territory": itv.territory, "role": itv.role,
                  "respondent": itv.respondent_id, "structure_type": itv.structure_type}
        _variable_values(src, values, var_guid)
        case = _el(cases, "Case", guid=guid("case", iid), name=iid)
        _variable_values(case, values, case_guid)
        _el(case, "SourceRef", targetGUID=sg)
    for section in (cases, sources, variables):
        if len(section) == 0:
            root.remove(section)
    if description:
        ET.SubElement(root, f"{{{NS}}}Description").text = description
    return root, texts


def write_qdpx(store: Store, path: str | Path, reveal: bool = False, **project: Any) -> Path:
    """Write the project as a REFI-QDA ``.qdpx`` archive (atomically); ``project`` goes to
    :func:`build_project`."""
    root, texts = build_project(store, reveal, **project)
    ET.indent(root, space=" ")
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)

    def _write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(zipfile.ZipInfo("project.qde", date_time=(2020, 1, 1, 0, 0, 0)), xml,
                       compress_type=zipfile.ZIP_DEFLATED)
            for g, text in texts.items():
                z.writestr(zipfile.ZipInfo(f"Sources/{g}.txt", date_time=(2020, 1, 1, 0, 0, 0)),
                           text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
    return atomic_write(path, _write)
