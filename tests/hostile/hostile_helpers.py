"""Hostile-input and fault sweep (issue 20): helpers shared by the test modules.

Every fixture is generated here or in the test (transcripts, sheets, archives); the French
material is written for these tests. Projects are built once per session and copied.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

#: three short interviews (our own material): interviewer / conseiller turns
ITV = {
    "alpha": [
        ("Enquêteur", "Pouvez-vous me décrire une journée type dans votre structure ?"),
        ("Conum", "Le matin je tiens la permanence à la médiathèque, les gens arrivent avec leurs courriers "
                  "et leurs questions sur les sites administratifs, et je les aide à créer leur compte."),
        ("Enquêteur", "Et l'après-midi, comment ça se passe ?"),
        ("Conum", "L'après-midi j'anime un atelier sur la tablette pour un petit groupe de retraités, on "
                  "apprend à envoyer une photo et à lire ses messages sans se faire piéger par les arnaques."),
    ],
    "beta": [
        ("Enquêteur", "Comment votre poste est-il financé aujourd'hui ?"),
        ("Conum", "Mon contrat dépend de la subvention de l'État, elle baisse chaque année et la commune "
                  "hésite à payer la différence, alors je ne sais pas si je serai encore là l'an prochain."),
        ("Enquêteur", "Vous travaillez avec d'autres structures du territoire ?"),
        ("Conum", "Oui, on se retrouve une fois par mois avec le centre social et l'espace France Services "
                  "pour se répartir les personnes et ne pas faire deux fois le même accompagnement."),
    ],
    "gamma": [
        ("Enquêteur", "Faites-vous les démarches à la place des personnes ?"),
        ("Conum", "J'essaie de ne pas le faire, je leur montre et ce sont eux qui tiennent la souris, mais "
                  "quand un dossier est urgent et que la personne ne lit pas bien, je remplis avec elle."),
        ("Enquêteur", "Qu'est-ce qui a changé depuis votre arrivée ?"),
        ("Conum", "Les usagers reviennent moins souvent pour la même chose, certains se débrouillent seuls "
                  "maintenant pour leurs rendez-vous médicaux et leurs déclarations en ligne."),
    ],
}


def transcript(turns) -> str:
    return "".join(f"{who} : {text}\n" for who, text in turns)


def write_itv(folder: Path, name: str, turns=None, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(transcript(turns if turns is not None else ITV[Path(name).stem]).encode(encoding))
    return p


def flat(text: str) -> str:
    """Console text with rich's line wrapping undone (one space between words)."""
    return " ".join(text.split())


def assert_coded(res, code: str) -> None:
    """A CLI result that failed with exit 1, the coded error ``code`` and no traceback."""
    text = res.stdout + res.stderr
    assert res.exit_code == 1, res
    assert f"[{code}]" in text, res
    assert "Traceback" not in text and "Fix:" in text, res


def assert_clean(cli, project: Path):
    """``textmine check`` on ``project``: exit 0, no problem row, no traceback."""
    res = cli("--project", project, "check", "--format", "json")
    assert res.exit_code == 0, res
    assert "Traceback" not in res.stdout + res.stderr
    rows = json.loads(res.stdout)
    assert not [r for r in rows if r["status"] == "problem"], rows
    return rows


def unwritable_dir(tmp_path: Path) -> Path:
    """A folder nobody can create files in: a chmod 500 folder, or /sys when running as root."""
    d = tmp_path / "locked"
    d.mkdir()
    d.chmod(0o500)
    candidates = [d, Path("/sys")]
    for c in candidates:
        try:
            fd, name = tempfile.mkstemp(dir=c)
        except OSError:
            return c
        os.close(fd)
        os.unlink(name)
    pytest.skip("no unwritable folder on this machine")
