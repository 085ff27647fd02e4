"""The threat library as data: rules, controls catalogue, reference index, named predicates.

Layout of a library directory::

    controls.yaml              controls catalogue (optional in custom libraries)
    references.yaml            reference index (built-in library only)
    predicates.yaml            named element predicates rules can ``use``
    rules/<family>/<RULE-ID>/rule.yaml
    rules/<family>/<RULE-ID>/positive*.yaml   fixture models the rule must flag
    rules/<family>/<RULE-ID>/negative*.yaml   fixture models it must not flag (or mitigated)
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threatgraph.engine.rules import ElementPred, Rule
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.paths import builtin_root
from threatgraph.util.readfile import read_input
from threatgraph.util.yamlsafe import LineDict, load_document, problems_from_validation


class Control(BaseModel):
    """A control in the catalogue."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
    title: str
    category: Literal["technical", "administrative", "physical"]
    applies_to: list[str] = Field(default_factory=list)
    description: str
    evidence: str
    atlas: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    review_questions: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(
        default_factory=list,
        description="Former ids of this control (merged or renamed): still accepted in models, "
        "with a deprecation warning, and read as this id.",
    )
    deprecated: str | None = Field(
        default=None,
        description="Why the control was retired and what to declare instead. No built-in rule "
        "names it, so it closes no finding; a model that declares it gets this text as a "
        "warning.",
    )


@dataclass
class LoadedRule:
    """A rule with where it came from and its fixtures."""

    rule: Rule
    path: Path
    builtin: bool
    positives: list[Path] = field(default_factory=list)
    negatives: list[Path] = field(default_factory=list)


@dataclass
class Library:
    """Everything the engine matches with, loaded and validated."""

    rules: list[LoadedRule]
    controls: dict[str, Control]
    references: dict[str, Any]
    predicates: dict[str, ElementPred]
    roots: list[Path]
    disabled: dict[str, str] = field(default_factory=dict)  # rule id -> reason

    @property
    def active(self) -> list[LoadedRule]:
        """Rules not disabled."""
        return [r for r in self.rules if r.rule.id not in self.disabled]

    @functools.cached_property
    def aliases(self) -> dict[str, str]:
        """Former control ids (``aliases`` in the catalogue) -> the id that replaced them."""
        return {old: cid for cid, c in sorted(self.controls.items()) for old in c.aliases}

    def rule(self, rule_id: str) -> LoadedRule:
        """A rule by id (KeyError when absent)."""
        for r in self.rules:
            if r.rule.id == rule_id:
                return r
        raise KeyError(rule_id)

    @functools.cached_property
    def version(self) -> str:
        """A content hash of the library, for reports that must say what they ran."""
        import hashlib

        h = hashlib.sha256()
        for r in sorted(self.rules, key=lambda r: r.rule.id):
            h.update(r.rule.model_dump_json().encode())
        for cid in sorted(self.controls):
            h.update(cid.encode())
        return h.hexdigest()[:12]


def _validate_list(doc: Any, key: str, model: type[BaseModel], file: str) -> list[Any]:
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise InputError.single(file, getattr(doc, "line", 1) or 1, f"expected a '{key}:' list")
    out, problems = [], []
    for i, item in enumerate(doc[key]):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            # Error locations are inside the item: look their lines up there.
            line = getattr(item, "line", 0) or getattr(doc, "line", 1)
            for p in problems_from_validation(exc, item, file):
                where = f"{key}.{i}.{p.field}" if p.field else f"{key}.{i}"
                problems.append(Problem(p.file, p.line or line, p.message, where))
    if problems:
        raise InputError(problems)
    return out


def _present(path: Path) -> bool:
    """Whether a library file is there to be read.

    Not ``is_file()``: that is false for a FIFO or a symlink to a device, which would then be
    skipped in silence; reading refuses them with an error instead.
    """
    return os.path.lexists(path) and not path.is_dir()


def load_rule_file(path: Path) -> Rule:
    """Load and validate one rule file."""
    file = str(path)
    doc = load_document(path)
    if not isinstance(doc, dict):
        raise InputError.single(file, 1, "a rule file must be a mapping")
    try:
        return Rule.model_validate(doc)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, doc, file)) from None


def _load_root(
    root: Path, builtin: bool, problems: list[Problem]
) -> tuple[list[LoadedRule], dict[str, Control], dict[str, Any], dict[str, ElementPred]]:
    rules: list[LoadedRule] = []
    controls: dict[str, Control] = {}
    refs: dict[str, Any] = {}
    preds: dict[str, ElementPred] = {}
    try:
        cpath = root / "controls.yaml"
        if _present(cpath):
            for c in _validate_list(load_document(cpath), "controls", Control, str(cpath)):
                if c.id in controls:
                    problems.append(Problem(str(cpath), 0, f"duplicate control {c.id!r}"))
                controls[c.id] = c
        rpath = root / "references.yaml"
        if _present(rpath):
            doc = load_document(rpath)
            if isinstance(doc, dict):
                refs = doc
        ppath = root / "predicates.yaml"
        if _present(ppath):
            doc = load_document(ppath)
            if not isinstance(doc, LineDict) or not isinstance(doc.get("predicates"), dict):
                raise InputError.single(str(ppath), 1, "expected a 'predicates:' mapping")
            for name, body in doc["predicates"].items():
                try:
                    preds[name] = ElementPred.model_validate(body)
                except ValidationError as exc:
                    line = doc["predicates"].key_lines.get(name, 1)
                    for p in problems_from_validation(exc, body, str(ppath)):
                        where = f"predicates.{name}" + (f".{p.field}" if p.field else "")
                        problems.append(Problem(p.file, p.line or line, p.message, where))
    except InputError as exc:
        problems.extend(exc.problems)
    rules_dir = root / "rules" if (root / "rules").is_dir() else root
    for rule_path in sorted(rules_dir.rglob("rule.yaml")):
        try:
            rule = load_rule_file(rule_path)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        folder = rule_path.parent
        rules.append(
            LoadedRule(
                rule=rule,
                path=rule_path,
                builtin=builtin,
                positives=sorted(folder.glob("positive*.y*ml"))
                + sorted(folder.glob("positive*.json")),
                negatives=sorted(folder.glob("negative*.y*ml"))
                + sorted(folder.glob("negative*.json")),
            )
        )
    return rules, controls, refs, preds


def _signature(root: Path) -> str | None:
    """A key over every library file's name, size and mtime (None: cannot stat)."""
    import hashlib

    from threatgraph.version import __version__

    h = hashlib.sha256(f"{__version__}\0{root.resolve()}".encode())
    # Plain strings and os.stat: this runs on every command, pre-commit hooks included, and
    # pathlib objects for some 400 files cost more than the stat calls.
    top = str(root)
    cut = len(top.rstrip(os.sep)) + 1
    try:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith((".yaml", ".yml", ".json")):
                    full = os.path.join(dirpath, name)
                    st = os.stat(full)
                    rel = full[cut:].replace(os.sep, "/")
                    h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    except OSError:
        return None
    return h.hexdigest()


def _cache_dir() -> Path | None:
    if os.environ.get("THREATGRAPH_NO_CACHE"):
        return None
    base = os.environ.get("THREATGRAPH_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    if base:
        return (
            Path(base) / "threatgraph"
            if not os.environ.get("THREATGRAPH_CACHE_DIR")
            else Path(base)
        )
    return Path.home() / ".cache" / "threatgraph"


def _private_file(path: Path) -> bool:
    """A regular file (not a symlink) owned by this user that no other user can write.

    The cache stands in for the library: a file someone else could plant or edit (a shared
    or world-writable cache directory) could switch rules off, so it is not read.
    """
    try:
        st = path.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: per-user profile directories, no POSIX owner to check
        return True
    return bool(st.st_uid == getuid() and not st.st_mode & stat.S_IWOTH)


def _load_root_cached(
    root: Path, builtin: bool, problems: list[Problem]
) -> tuple[list[LoadedRule], dict[str, Control], dict[str, Any], dict[str, ElementPred]]:
    """_load_root, memoised as JSON in the user's cache directory.

    Parsing ~100 YAML files with line tracking costs more than a pre-commit hook can
    afford; the validated library is stored as plain JSON (never pickle) under a key made
    of every file's name, size and mtime, and is validated again when read back.
    """
    import json

    sig = _signature(root)
    cdir = _cache_dir()
    cfile = cdir / f"library-{sig[:32]}.json" if sig and cdir else None
    if cfile is not None and _private_file(cfile):
        try:
            doc = json.loads(read_input(cfile).decode("utf-8"))
            rules = [
                LoadedRule(
                    rule=Rule.model_validate(r["rule"]),
                    path=root / r["path"],
                    builtin=builtin,
                    positives=[root / x for x in r["positives"]],
                    negatives=[root / x for x in r["negatives"]],
                )
                for r in doc["rules"]
            ]
            controls = {c["id"]: Control.model_validate(c) for c in doc["controls"]}
            preds = {k: ElementPred.model_validate(v) for k, v in doc["predicates"].items()}
            return rules, controls, doc["references"], preds
        except Exception:  # noqa: S110 - whatever is wrong with a cache file, rebuild it
            pass
    before = len(problems)
    rules, controls, refs, preds = _load_root(root, builtin, problems)
    if cfile is not None and len(problems) == before:
        doc = {
            "rules": [
                {
                    "path": lr.path.relative_to(root).as_posix(),
                    "rule": lr.rule.model_dump(mode="json", by_alias=True, exclude_unset=True),
                    "positives": [p.relative_to(root).as_posix() for p in lr.positives],
                    "negatives": [p.relative_to(root).as_posix() for p in lr.negatives],
                }
                for lr in rules
            ],
            "controls": [c.model_dump(mode="json") for c in controls.values()],
            "references": refs,
            "predicates": {
                k: v.model_dump(mode="json", by_alias=True, exclude_unset=True)
                for k, v in preds.items()
            },
        }
        try:
            from threatgraph.util.writer import write_atomic

            cfile.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomic(cfile, json.dumps(doc, separators=(",", ":")))
        except OSError:
            pass  # no writable cache: correct, just slower next time
    return rules, controls, refs, preds


def _suggest_rule(rule_id: str, known: Iterable[str]) -> str:
    """A ' (did you mean ...?)' hint for a misspelt rule id, or ''."""
    from threatgraph.util.hints import suggest

    return suggest(rule_id, known)


def line_in_file(path: Path, loc: tuple[str | int, ...]) -> int:
    """The line of ``loc`` in a YAML file (read again: only error messages need it)."""
    from threatgraph.util.yamlsafe import line_of

    try:
        return line_of(load_document(path), loc) or 1
    except InputError:
        return 1


def load_library(
    extra_dirs: Sequence[str | Path] = (),
    disabled: dict[str, str] | None = None,
    include_builtin: bool = True,
) -> Library:
    """Load the built-in library plus custom rule directories; validate cross-references."""
    problems: list[Problem] = []
    roots: list[tuple[Path, bool]] = []
    if include_builtin:
        roots.append((builtin_root(), True))
    for d in extra_dirs:
        p = Path(d)
        if not p.is_dir():
            problems.append(Problem(str(p), 0, "rule directory does not exist"))
            continue
        roots.append((p, False))
    rules: list[LoadedRule] = []
    controls: dict[str, Control] = {}
    refs: dict[str, Any] = {}
    preds: dict[str, ElementPred] = {}
    for root, builtin in roots:
        r, c, rf, pr = _load_root_cached(root, builtin, problems)
        rules.extend(r)
        for cid, ctl in c.items():
            if cid in controls and not builtin:
                problems.append(
                    Problem(
                        str(root / "controls.yaml"),
                        0,
                        f"control {cid!r} already exists in the library",
                    )
                )
            controls[cid] = ctl
        refs = refs or rf
        preds.update(pr)
    aliases = _alias_map(controls, problems, roots)
    seen: dict[str, Path] = {}
    for lr in rules:
        if lr.rule.id in seen:
            problems.append(
                Problem(
                    str(lr.path),
                    1,
                    f"duplicate rule id {lr.rule.id!r} (also in {seen[lr.rule.id]})",
                    "id",
                )
            )
        seen[lr.rule.id] = lr.path
        if any(m.control in aliases for m in lr.rule.mitigations):
            # A custom rule written before a merge keeps working: it names the new id.
            lr.rule = lr.rule.model_copy(
                update={
                    "mitigations": [
                        m.model_copy(update={"control": aliases[m.control]})
                        if m.control in aliases
                        else m
                        for m in lr.rule.mitigations
                    ]
                }
            )
        for i, m in enumerate(lr.rule.mitigations):
            if controls and m.control not in controls:
                from threatgraph.util.hints import suggest

                problems.append(
                    Problem(
                        str(lr.path),
                        line_in_file(lr.path, ("mitigations", i, "control")),
                        f"unknown control {m.control!r}{suggest(m.control, controls)}",
                        f"mitigations.{i}.control",
                    )
                )
    dis = dict(disabled or {})
    for rid, reason in dis.items():
        if rid not in seen:
            # Reasons read from a config file know their file and line (settings.Sourced).
            problems.append(
                Problem(
                    getattr(reason, "file", "--disable"),
                    getattr(reason, "line", 0),
                    f"disabled rule {rid!r} does not exist{_suggest_rule(rid, seen)}",
                    "disable",
                )
            )
    if problems:
        raise InputError(problems)
    rules.sort(key=lambda r: r.rule.id)
    return Library(
        rules=rules,
        controls=controls,
        references=refs,
        predicates=preds,
        roots=[r for r, _ in roots],
        disabled=dis,
    )


def _alias_map(
    controls: dict[str, Control], problems: list[Problem], roots: list[tuple[Path, bool]]
) -> dict[str, str]:
    """Former id -> current id; an alias that is also a control id, or the alias of two
    controls, is an error (a model's control would be read two ways)."""
    out: dict[str, str] = {}
    where = str(roots[-1][0] / "controls.yaml") if roots else "controls.yaml"
    for cid in sorted(controls):
        for old in controls[cid].aliases:
            if old in controls:
                problems.append(Problem(where, 0, f"alias {old!r} of {cid!r} is itself a control"))
            elif old in out and out[old] != cid:
                problems.append(
                    Problem(where, 0, f"alias {old!r} is claimed by {out[old]!r} and {cid!r}")
                )
            else:
                out[old] = cid
    return out
