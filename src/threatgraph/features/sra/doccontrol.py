"""Section 9 of the risk analysis: document control.

The model's commit (or "uncommitted" when the file differs from it or is not in git), the
model file's version history, the comparison with the previous analysis (the JSON export of
an earlier run, ``--previous``), the review log from the register file, and how long the
document must be kept: six years from its date (164.316(b)(2)(i)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from threatgraph.features.sra.registerfile import Register
from threatgraph.repo import gitrev
from threatgraph.util.errors import InputError
from threatgraph.util.yamlsafe import load_document

RETENTION_YEARS = 6
#: The JSON export's format name and version; ``--previous`` accepts only these.
FORMAT = "threatgraph-sra"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class PreviousRisk:
    """What the previous analysis said about one finding."""

    status: str
    level: str


@dataclass(frozen=True)
class Previous:
    """The previous analysis of the same model, as read from its JSON export."""

    file: str
    as_of: str
    commit: str
    risks: dict[str, PreviousRisk]


@dataclass
class Change:
    """One difference from the previous analysis."""

    finding: str
    change: str  # new, resolved, status, level
    before: str
    after: str


@dataclass
class DocControl:
    """Everything section 9 shows."""

    commit: str
    history: list[tuple[str, str, str]]
    previous: str  # 'file, dated ..., commit ...' or ''
    changes: list[Change]
    reviews: list[tuple[str, str, str, str]]  # date, by, role, note
    retain_until: str
    notes: list[str] = field(default_factory=list)


def retain_until(day: date) -> str:
    """Six years after ``day`` (28 February for a 29 February; saturates at year 9999)."""
    year = day.year + RETENTION_YEARS
    if year > date.max.year:
        return f"after {date.max.isoformat()}"
    try:
        return day.replace(year=year).isoformat()
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=year, day=28).isoformat()


def _field(doc: object, key: str, file: str) -> object:
    if not isinstance(doc, dict) or key not in doc:
        raise InputError.single(file, getattr(doc, "line", 1) or 1, f"missing '{key}'", key)
    return doc[key]


def load_previous(path: Path, model_id: str) -> Previous | None:
    """The previous analysis of ``model_id`` in a JSON export (one model or a list of them),
    or None when the file holds other models only."""
    file = str(path)
    if not path.exists():
        raise InputError.single(file, 0, "previous analysis does not exist")
    doc = load_document(path)
    docs = doc if isinstance(doc, list) else [doc]
    for d in docs:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise InputError.single(
                file,
                getattr(d, "line", 1) or 1,
                f'not a risk analysis export: expected "format": "{FORMAT}"',
                "format",
            )
        if d.get("version") != FORMAT_VERSION:
            raise InputError.single(
                file, getattr(d, "line", 1) or 1, f"unsupported version (not {FORMAT_VERSION})"
            )
        if d.get("model_id") != model_id:
            continue
        risks: dict[str, PreviousRisk] = {}
        items = _field(d, "risks", file)
        if not isinstance(items, list):
            raise InputError.single(file, getattr(items, "line", 1) or 1, "must be a list")
        for r in items:
            fid, status, lvl = (_field(r, k, file) for k in ("id", "status", "level"))
            if not all(isinstance(x, str) for x in (fid, status, lvl)):
                raise InputError.single(file, getattr(r, "line", 1) or 1, "id, status, level")
            risks[str(fid)] = PreviousRisk(str(status), str(lvl))
        return Previous(file, str(d.get("as_of", "")), str(d.get("commit", "")), risks)
    return None


def compare(previous: Previous, rows: list[tuple[str, str, str]]) -> list[Change]:
    """Differences between the previous analysis and this one's (id, status, level) rows."""
    now = {fid: (st, lv) for fid, st, lv in rows}
    out: list[Change] = []
    for fid in sorted(set(now) | set(previous.risks)):
        before = previous.risks.get(fid)
        after = now.get(fid)
        if before is None and after is not None:
            out.append(Change(fid, "new", "-", f"{after[0]}, {after[1]}"))
        elif after is None and before is not None:
            out.append(Change(fid, "resolved", f"{before.status}, {before.level}", "-"))
        elif before is not None and after is not None:
            if before.status != after[0]:
                out.append(Change(fid, "status", before.status, after[0]))
            if before.level != after[1]:
                out.append(Change(fid, "level", before.level, after[1]))
    return out


def build(
    model_file: Path | None,
    as_of: date,
    register: Register,
    previous: Previous | None,
    rows: list[tuple[str, str, str]],
    use_git: bool,
) -> DocControl:
    """Section 9 for one model. ``use_git=False`` leaves the commit and history out."""
    notes: list[str] = []
    if not use_git or model_file is None:
        commit, history = "not looked up", []
    else:
        commit = gitrev.file_commit(model_file) or "uncommitted"
        history = gitrev.file_history(model_file)
        if commit == "uncommitted":
            notes.append(
                "The model file is not committed as analysed: commit it and re-run, so that "
                "the document names the exact version it describes."
            )
    prev = ""
    changes: list[Change] = []
    if previous is not None:
        prev = f"{previous.file}, dated {previous.as_of or 'not recorded'}" + (
            f", commit {previous.commit}" if previous.commit else ""
        )
        changes = compare(previous, rows)
    reviews = [(r.date.isoformat(), r.by, r.role or "", r.note or "") for r in register.reviews]
    return DocControl(commit, history, prev, changes, reviews, retain_until(as_of), notes)
