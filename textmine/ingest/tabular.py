"""CSV transcripts: one row per turn, columns ``speaker,text`` plus optional ``start,end``.

The delimiter (``,`` ``;`` tab) is sniffed from the header line; French/English header
synonyms are accepted (locuteur, intervenant, texte, propos, début, fin...). Times are
seconds (``12.5``, ``12,5``) or ``hh:mm:ss[.mmm]``. A row with an empty speaker continues
the previous speaker. ``Turn.line`` is the physical line where the row starts (header = 1).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import E, TextmineError
from ..french import count_words, fold_label
from ..records import Transcript, Turn
from .encoding import decode_text, read_bytes
from .tags import ROLE_WORDS, parse_timestamp

SYNONYMS = {
    "speaker": {"speaker", "locuteur", "locutrice", "intervenant", "intervenante", "orateur", "oratrice",
                "participant", "participante", "interlocuteur", "nom", "name", "who", "speaker_label", "label"},
    "text": {"text", "texte", "transcription", "propos", "contenu", "verbatim", "utterance", "content",
             "parole", "paroles", "discours", "transcript"},
    "start": {"start", "debut", "start_time", "begin", "tc_in", "in", "heure_debut", "temps_debut", "time", "temps"},
    "end": {"end", "fin", "end_time", "stop", "tc_out", "out", "heure_fin", "temps_fin"},
}


def _norm(h: str) -> str:
    return fold_label(h).replace(" ", "_").replace("-", "_")


def header_map(header: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, h in enumerate(header):
        key = _norm(h)
        for field, names in SYNONYMS.items():
            if key in names and field not in out:
                out[field] = i
    return out


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _time(v: str, path, line: int, col: str) -> float | None:
    v = v.strip()
    if not v:
        return None
    t = parse_timestamp(v) if ":" in v else None
    if t is None:
        try:
            t = float(v.replace(",", "."))
        except ValueError:
            t = None
    if t is None or t < 0:
        raise TextmineError(E.E110, path=path, line=line, detail=f"{col}={v!r} is not a time (seconds or hh:mm:ss)")
    return t


def csv_rows(text: str, path, err=E.E110) -> tuple[str, list[str], list[tuple[int, list[str]]]]:
    """``(delimiter, header, [(line, cells)])`` of a CSV text, strictly quoted: a quote that is
    opened and never closed, or text after a closing quote, is ``err`` naming the line where
    the row starts (the csv module would otherwise swallow the following rows into one cell)."""
    delim = sniff_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    # a turn may be longer than the csv module's 128 KiB cell limit (a written contribution, a
    # monologue): the file itself is bounded (E120), so a cell may be as long as the file
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise TextmineError(err, path=path, line=start,
                            detail=f"CSV syntax in the row that starts on line {start}: {exc} "
                                   "(a quote \" opened there and not closed?)",
                            fix="Close the quote on that line (a quote inside a cell is written \"\"), "
                                "or remove it.") from exc
    finally:
        csv.field_size_limit(limit)
    if not rows:
        raise TextmineError(err, path=path, line=1, detail="no header row")
    return delim, rows[0][1], rows[1:]


def _swallowed(path, rows: list[tuple[int, list[str]]], col: int, speakers: set[str], delim: str) -> None:
    """A quoted cell whose inner lines start like rows (``Speaker,...`` with a speaker of the
    file or a role word such as Enquêteur, Conum, Q, R) swallowed them: E110."""
    speakers = set(speakers)
    for line, row in rows:
        cell = row[col] if col < len(row) else ""
        if "\n" not in cell:
            continue
        for k, inner in enumerate(cell.split("\n")[1:], 1):
            head = inner.split(delim, 1)
            label = " ".join(head[0].split()).strip('"')
            if len(head) == 2 and label and (label in speakers or fold_label(label) in ROLE_WORDS):
                raise TextmineError(E.E110, path=path, line=line,
                                    detail=f"the quoted text that starts on line {line} runs over line "
                                           f"{line + k}, which looks like a row of speaker {head[0].strip()!r}: "
                                           "a quote is not closed",
                                    fix="Close the quote at the end of the text on that line.")


def parse_csv(path: str | Path) -> Transcript:
    data = read_bytes(path)
    text, enc = decode_text(data, path)
    delim, header, body = csv_rows(text, path)
    cols = header_map(header)
    missing = [c for c in ("speaker", "text") if c not in cols]
    if missing:
        raise TextmineError(E.E110, path=path, line=1,
                            detail=f"header {header!r} lacks {' and '.join(missing)} "
                                   f"(accepted names: {', '.join(sorted(SYNONYMS[missing[0]]))})",
                            fix="Name the columns speaker,text[,start,end] (or locuteur,texte[,debut,fin]).")
    speakers = {" ".join(r[cols["speaker"]].split()) for _, r in body if cols["speaker"] < len(r)} - {""}
    _swallowed(path, body, cols["text"], speakers, delim)
    turns: list[Turn] = []
    words = 0
    current = None
    for row_line, row in body:
        if not any(c.strip() for c in row):
            continue

        def cell(name: str) -> str:
            i = cols.get(name)
            return row[i] if i is not None and i < len(row) else ""

        speech = cell("text").strip()
        speaker = " ".join(cell("speaker").split()) or current
        words += count_words(speech)
        if speaker is None:
            raise TextmineError(E.E110, path=path, line=row_line, detail="first row has no speaker")
        current = speaker
        if not speech:
            continue
        turns.append(Turn(speaker=speaker, text=speech, line=row_line,
                          start=_time(cell("start"), path, row_line, "start"),
                          end=_time(cell("end"), path, row_line, "end")))
    if not turns:
        raise TextmineError(E.E109, path=path, detail="the CSV has a header but no row with text")
    return Transcript(source_file=str(path), format="csv", encoding=enc, turns=turns, source_words=words,
                      attrs={"delimiter": delim, "columns": header})
