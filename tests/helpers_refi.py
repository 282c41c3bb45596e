"""Third-party REFI-QDA projects for the exchange tests, generated (no sample is shipped).

The public samples found were not shippable: the NVivo project in cproctor/qualitative-coding
is AGPL-3.0 (an MIT project cannot carry it as a fixture), and the ATLAS.ti projects in
enricllagostera/ponte have no licence at all. They were read for their structure, and so was
QualCoder's REFI-QDA import/export (ccbogel/QualCoder, ``refi.py``, LGPL; not copied). These
generators rebuild the traits that matter, with French text written for these tests:

- :func:`nvivo_style`: ``project.qde`` with a lower-case ``sources/`` folder, source names
  without extension, Windows line ends counted as two characters, a deep code tree whose
  leaf names repeat under different parents, users with ids, variables on named cases
  (NVivo classifications), selections that cross speaker turns (``Enquêtrice :`` /
  ``Conum :``) and one holding only the interviewer's question.
- :func:`atlas_style`: the project file named after the project (``Etude conum vague 2.qde``),
  upper-case GUIDs, ``Q :``/``R :`` labels, Windows line ends in the text files but
  positions counted with one character per line end (as ATLAS.ti does), codes named after
  theme ids and labels.
- :func:`maxqda_style`: documents and document variables (unnamed cases with one source
  reference, as MAXQDA writes them) and no coded selection at all.
- :func:`qualcoder_reexport`: what QualCoder 3.x/4.x does to a project it imports and
  exports again (``RefiExport`` in ``refi.py``): every GUID regenerated, a lower-case
  ``sources/`` folder, text files written as UTF-8 with a BOM, one selection per coding
  named by its text, the creating user kept by name, file attributes as source variables,
  case-to-source links dropped, and codes of the same name merged: QualCoder's code names are
  unique, so a second code of a name already imported is skipped and its codings land on the
  first one. Optionally a human coder adds a coding, and ``crlf=True``
  is its "line ending character for MAXQDA" option: ``\r\n`` in the files, positions
  unchanged (counted on ``\n`` line ends). ``descriptions=False`` drops the codes'
  descriptions, as a program that knows codes by their names only would.
"""
from __future__ import annotations

import random
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

NS = "urn:QDA-XML:project:1.0"
Q = f"{{{NS}}}"


def _guid(rng: random.Random, upper: bool = False) -> str:
    g = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return g.upper() if upper else g


def _zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _xml(root: ET.Element) -> bytes:
    ET.register_namespace("", NS)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _el(parent, tag: str, **attrs) -> ET.Element:
    return ET.SubElement(parent, Q + tag, {k: str(v) for k, v in attrs.items() if v is not None})


class _Builder:
    """Small REFI-QDA writer for the generated projects."""

    def __init__(self, name: str, origin: str, seed: int, upper: bool = False):
        self.rng, self.upper = random.Random(seed), upper
        self.user = self.guid()
        self.root = ET.Element(Q + "Project", {"name": name, "origin": origin, "creatingUserGUID": self.user,
                                               "creationDateTime": "2024-02-05T09:30:00Z"})
        users = _el(self.root, "Users")
        _el(users, "User", guid=self.user, name="Camille R.", id="CR")
        self.codebook = _el(_el(self.root, "CodeBook"), "Codes")
        self.variables = _el(self.root, "Variables")
        self.cases = _el(self.root, "Cases")
        self.sources = _el(self.root, "Sources")
        self.code_guid: dict[str, str] = {}
        self.var_guid: dict[str, str] = {}
        self.files: dict[str, bytes] = {}

    def guid(self) -> str:
        return _guid(self.rng, self.upper)

    def code(self, path: str) -> str:
        """The guid of the code at ``A/B/C``, creating its parents."""
        if path in self.code_guid:
            return self.code_guid[path]
        parent_path, _, name = path.rpartition("/")
        parent = self.codebook if not parent_path else self._code_el(parent_path)
        g = self.guid()
        _el(parent, "Code", guid=g, name=name, isCodable="true")
        self.code_guid[path] = g
        return g

    def _code_el(self, path: str):
        g = self.code(path)
        return next(c for c in self.root.iter(Q + "Code") if c.get("guid") == g)

    def variable(self, name: str) -> str:
        if name not in self.var_guid:
            self.var_guid[name] = self.guid()
            _el(self.variables, "Variable", guid=self.var_guid[name], name=name, typeOfVariable="Text")
        return self.var_guid[name]

    def values(self, parent, values: dict[str, str]) -> None:
        for k, v in values.items():
            vv = _el(parent, "VariableValue")
            _el(vv, "VariableRef", targetGUID=self.variable(k))
            ET.SubElement(vv, Q + "TextValue").text = v

    def source(self, name: str, text_bytes: bytes, folder: str, selections: list[tuple[int, int, list[str]]]):
        g = self.guid()
        src = _el(self.sources, "TextSource", guid=g, name=name, plainTextPath=f"internal://{g}.txt",
                  creatingUser=self.user, creationDateTime="2024-02-05T09:31:00Z")
        for a, b, codes in selections:
            sel = _el(src, "PlainTextSelection", guid=self.guid(), name="", startPosition=a, endPosition=b,
                      creatingUser=self.user, creationDateTime="2024-02-06T14:00:00Z")
            for path in codes:
                coding = _el(sel, "Coding", guid=self.guid(), creatingUser=self.user)
                _el(coding, "CodeRef", targetGUID=self.code(path))
        self.files[f"{folder}/{g}.txt"] = text_bytes
        return g, src

    def case(self, name: str | None, values: dict[str, str], source_guid: str) -> None:
        case = _el(self.cases, "Case", guid=self.guid(), name=name)
        self.values(case, values)
        _el(case, "SourceRef", targetGUID=source_guid)

    def write(self, path: Path, qde_name: str = "project.qde") -> Path:
        for tag in ("Variables", "Cases", "Sources"):
            el = self.root.find(Q + tag)
            if el is not None and len(el) == 0:
                self.root.remove(el)
        cb = self.root.find(Q + "CodeBook")
        if cb is not None and len(cb.find(Q + "Codes")) == 0:
            self.root.remove(cb)
        return _zip(path, {qde_name: _xml(self.root), **self.files})


def _span(text: str, start: str, end: str | None = None) -> tuple[int, int]:
    """Offsets of the passage from ``start`` to the end of ``end`` (or of ``start``)."""
    a = text.index(start)
    b = text.index(end, a) + len(end) if end else a + len(start)
    return a, b


# ---------------------------------------------------------------------------- NVivo
NVIVO_CONUM = (
    "Entretien du 12 mars, permanence associative.\n"
    "Enquêtrice : Pouvez-vous me décrire une matinée de permanence ?\n"
    "Conum : J'ouvre à neuf heures, les gens arrivent avec leurs courriers de la caisse de retraite et on "
    "regarde ensemble ce qu'il faut remplir.\n"
    "Enquêtrice : D'accord. Et les démarches, vous les faites pour eux ?\n"
    "Conum : Bah ça dépend. Si la personne n'a jamais touché un clavier je saisis à sa place, sinon je lui "
    "montre et c'est elle qui tape.\n"
    "Enquêtrice : Votre contrat court jusqu'à quand ?\n"
    "Conum : Jusqu'en juin. Après, personne ne sait, la subvention n'est toujours pas votée.\n"
    "Conum : On a aussi une réunion avec la mairie tous les deux mois.\n"
)
NVIVO_ELU = (
    "Enquêteur : Comment la commune suit-elle le dispositif ?\n"
    "Élue : On a mis le conseiller dans la salle du conseil, et on fait le point en bureau municipal. "
    "Le financement de l'État baisse, il faudra que l'intercommunalité prenne le relais.\n"
    "Enquêteur : Et les habitants, ils viennent ?\n"
    "Élue : Surtout les anciens, pour les papiers des impôts.\n"
)
NVIVO_CODES = [
    "Thèmes/Accompagnement/Posture/Faire à la place", "Thèmes/Accompagnement/Posture/Faire avec",
    "Thèmes/Accompagnement/Posture", "Thèmes/Emploi/Précarité/Contrats courts", "Thèmes/Emploi/Précarité",
    "Thèmes/Financement", "Thèmes/Publics/Retraités", "Autres/Divers", "Partenaires/Divers", "Partenaires/Mairie",
]
#: the --mapping a user writes for the NVivo-style project (paths; leaf names repeat)
NVIVO_MAPPING = ("code,theme,posture\n"
                 "Thèmes/Accompagnement/Posture,posture_faire_avec_vs_a_la_place,\n"
                 "Thèmes/Emploi/Précarité,precarite,\n"
                 "Thèmes/Financement,financement_renouvellement,\n"
                 "Thèmes/Publics/Retraités,publics_usagers,\n"
                 "Partenaires/Mairie,coordination_territoriale,\n"
                 "Autres/Divers,ignore,\n")


def nvivo_style(path: Path) -> Path:
    b = _Builder("Etude territoriale", "NVivo 14 (Windows) 14.23.0", seed=14)
    for c in NVIVO_CODES:
        b.code(c)
    t = NVIVO_CONUM.replace("\n", "\r\n")          # Windows line ends: two characters each
    sels = [
        (*_span(t, "je saisis à sa place"), ["Thèmes/Accompagnement/Posture/Faire à la place"]),
        (*_span(t, "D'accord. Et les démarches", "c'est elle qui tape."), ["Thèmes/Accompagnement/Posture"]),
        (*_span(t, "Jusqu'en juin.", "pas votée."), ["Thèmes/Emploi/Précarité/Contrats courts"]),
        (*_span(t, "Votre contrat court jusqu'à quand ?"), ["Thèmes/Emploi/Précarité"]),
        (*_span(t, "les gens arrivent", "caisse de retraite"), ["Thèmes/Publics/Retraités", "Autres/Divers"]),
        (*_span(t, "On a aussi une réunion avec la mairie"), ["Partenaires/Divers"]),
    ]
    g1, _ = b.source("Entretien Conum Lison", t.encode("utf-8"), "sources", sels)
    t2 = NVIVO_ELU.replace("\n", "\r\n")
    sels2 = [
        (*_span(t2, "Le financement de l'État", "prenne le relais."), ["Thèmes/Financement"]),
        (*_span(t2, "Et les habitants", "papiers des impôts."), ["Thèmes/Publics/Retraités"]),
    ]
    g2, _ = b.source("Entretien élue Orsenne", t2.encode("utf-8"), "sources", sels2)
    b.case("Lison", {"Vague": "2023", "Territoire": "C", "Rôle": "conum"}, g1)
    b.case("Orsenne", {"Vague": "2023", "Territoire": "E", "Rôle": "elu"}, g2)
    return b.write(path)


# ---------------------------------------------------------------------------- ATLAS.ti
ATLAS_TEXT = (
    "Q : Qu'est-ce qui a changé depuis l'an dernier ?\n"
    "R : Avant je remplissais tout pour les gens. Maintenant je leur montre, ils font eux-mêmes avec moi "
    "à côté.\n"
    "Q : Et votre poste ?\n"
    "R : Mon contrat s'arrête en décembre, je regarde déjà les offres ailleurs.\n"
    "R : Le département finance encore une année, après on verra.\n"
)


def atlas_style(path: Path) -> Path:
    b = _Builder("Etude conum vague 2", "ATLAS.ti Windows 23.2.3.27778", seed=23, upper=True)
    text = ATLAS_TEXT                                   # positions: one character per line end
    sels = [
        (*_span(text, "Avant je remplissais", "avec moi à côté."), ["Posture/faire avec"]),
        (*_span(text, "Mon contrat s'arrête", "ailleurs."), ["precarite"]),
        (*_span(text, "Le département finance", "on verra."), ["Financement et renouvellement du dispositif"]),
        (*_span(text, "Et votre poste ?", "en décembre,"), ["precarite"]),       # crosses a turn
    ]
    g, _ = b.source("Entretien coordinatrice.docx", text.replace("\n", "\r\n").encode("utf-8"), "Sources", sels)
    b.case(None, {"vague": "2024", "territoire": "B", "role": "coordinateur"}, g)
    return b.write(path, qde_name="Etude conum vague 2.qde")


#: the --mapping for the ATLAS.ti-style project (YAML, code names)
ATLAS_MAPPING = "posture:\n  theme: posture_faire_avec_vs_a_la_place\n"


# ---------------------------------------------------------------------------- MAXQDA
def maxqda_style(path: Path) -> Path:
    b = _Builder("Vague 3", "MAXQDA 24 (Release 24.4.0)", seed=24)
    b.code("Financement")
    for i, (terr, role) in enumerate((("A", "conum"), ("D", "responsable_structure")), 1):
        text = f"Enquêteur : Bonjour.\nRépondant : Bonjour, je suis arrivé il y a {i + 1} ans.\n"
        g, _ = b.source(f"Entretien {i}", text.encode("utf-8"), "sources", [])
        b.case(None, {"Vague": "2025", "Territoire": terr, "Rôle": role}, g)
    return b.write(path)


# ---------------------------------------------------------------------------- QualCoder round trip
def qualcoder_reexport(src: Path, dst: Path, human: tuple[str, str] | None = None, seed: int = 4,
                       crlf: bool = False, descriptions: bool = True) -> Path:
    """``src`` as QualCoder exports it again after importing it (see the module doc).

    ``human=(text, code name)``: a QualCoder user "Camille" also codes that passage."""
    import defusedxml.ElementTree as DET
    rng = random.Random(seed)
    with zipfile.ZipFile(src) as z:
        qde = next(n for n in z.namelist() if n.lower().endswith(".qde"))
        root = DET.fromstring(z.read(qde))
        files = {n: z.read(n) for n in z.namelist() if n != qde}
    new: dict[str, str] = {}

    def remap(g: str | None) -> str | None:
        if g is None:
            return None
        if g not in new:
            new[g] = _guid(rng)
        return new[g]

    users = {u.get("guid"): u.get("name") for u in root.iter(Q + "User")}
    out = ET.Element(Q + "Project", {"name": "projet-qualcoder", "origin": "QualCoder 3.6",
                                     "creatingUserGUID": _guid(rng), "creationDateTime": "2024-05-02T10:00:00Z"})
    names = dict.fromkeys([*users.values(), "Camille"] if human else users.values())
    user_guid = {n: _guid(rng) for n in names}
    ul = _el(out, "Users")
    for n, g in user_guid.items():
        _el(ul, "User", guid=g, name=n)

    first_of_name: dict[str, str] = {}

    def copy_codes(src_parent, dst_parent):
        for c in src_parent.findall(Q + "Code"):
            name = c.get("name")
            if name in first_of_name:           # a unique name in QualCoder: merged with the first
                new[c.get("guid")] = first_of_name[name]
                copy_codes(c, dst_parent)
                continue
            nc = _el(dst_parent, "Code", guid=remap(c.get("guid")), name=name, isCodable=c.get("isCodable"),
                     color=c.get("color"))
            first_of_name[name] = nc.get("guid")
            d = c.find(Q + "Description")
            if d is not None and descriptions:
                ET.SubElement(nc, Q + "Description").text = d.text
            copy_codes(c, nc)
    codes = _el(_el(out, "CodeBook"), "Codes")
    copy_codes(root.find(f"{Q}CodeBook/{Q}Codes"), codes)
    code_by_name = {c.get("name"): c.get("guid") for c in out.iter(Q + "Code")}
    variables = _el(out, "Variables")
    for v in root.iter(Q + "Variable"):
        _el(variables, "Variable", guid=remap(v.get("guid")), name=v.get("name"), typeOfVariable="Text")
    cases = _el(out, "Cases")
    for case in root.iter(Q + "Case"):          # QualCoder keeps the cases, not their source links
        nc = _el(cases, "Case", guid=remap(case.get("guid")), name=case.get("name"))
        for vv in case.findall(Q + "VariableValue"):
            nv = _el(nc, "VariableValue")
            _el(nv, "VariableRef", targetGUID=remap(vv.find(Q + "VariableRef").get("targetGUID")))
            ET.SubElement(nv, Q + "TextValue").text = vv.find(Q + "TextValue").text
    sources = _el(out, "Sources")
    new_files: dict[str, bytes] = {}
    for s in root.iter(Q + "TextSource"):
        g = _guid(rng)
        old_member = ("sources/" + s.get("plainTextPath").split("://", 1)[1]).lower()
        text = next(data for n, data in files.items() if n.lower() == old_member).decode("utf-8-sig")
        written = text.replace("\n", "\r\n") if crlf else text
        new_files[f"sources/{g}.txt"] = written.encode("utf-8-sig")
        ns = _el(sources, "TextSource", plainTextPath=f"internal://{g}.txt",
                 creatingUser=user_guid[users.get(s.get("creatingUser"), "textmine")] if s.get("creatingUser") else None,
                 creationDateTime="2024-05-02T10:00:00Z", guid=g, name=s.get("name"))
        d = s.find(Q + "Description")
        if d is not None:
            ET.SubElement(ns, Q + "Description").text = d.text
        sels = []
        for sel in s.findall(Q + "PlainTextSelection"):
            owner = users.get(sel.get("creatingUser"), "default")
            for cd in sel.findall(Q + "Coding"):
                sels.append((int(sel.get("startPosition")), int(sel.get("endPosition")), owner,
                             remap(cd.find(Q + "CodeRef").get("targetGUID"))))
        if human and human[0] in text:
            a = text.index(human[0])
            sels.append((a, a + len(human[0]), "Camille", code_by_name[human[1]]))
        for a, b, owner, cg in sels:           # one selection per coding, named by its text
            ps = _el(ns, "PlainTextSelection", guid=_guid(rng), startPosition=a, endPosition=b, name=text[a:b],
                     creatingUser=user_guid.get(owner), creationDateTime="2024-05-02T10:05:00Z")
            cd = _el(ps, "Coding", guid=_guid(rng), creatingUser=user_guid.get(owner))
            _el(cd, "CodeRef", targetGUID=cg)
        for vv in s.findall(Q + "VariableValue"):      # file attributes
            nv = _el(ns, "VariableValue")
            _el(nv, "VariableRef", targetGUID=remap(vv.find(Q + "VariableRef").get("targetGUID")))
            ET.SubElement(nv, Q + "TextValue").text = vv.find(Q + "TextValue").text
    return _zip(dst, {"project.qde": _xml(out), **new_files})
