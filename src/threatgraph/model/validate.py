"""Semantic checks that pydantic cannot do alone: ids, references, cycles, controls."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Literal, TypeVar

from threatgraph.model.schema import (
    MAX_ID,
    Boundary,
    ControlRef,
    DataAsset,
    Element,
    Flow,
    Kind,
    Location,
    ModelInfo,
    ModelNote,
    SystemModel,
    slugify,
    valid_id,
)
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.hints import shown, suggest

T = TypeVar("T", Boundary, DataAsset, Element)


def _where(loc: Location | None, fallback: Location | None) -> tuple[str, int]:
    use = loc or fallback
    return (use.file, use.line) if use else ("<model>", 0)


def bad_id(what: str, value: str) -> str:
    """Why ``value`` is not a valid id of a ``what`` (see :func:`valid_id`)."""
    if len(value) > MAX_ID:
        return f"{what} id {shown(value)} is {len(value)} characters long; the limit is {MAX_ID}"
    return f"{what} id {shown(value)} is not a valid id (lowercase letters, digits, '-', '_', '.')"


def suggest_ref(ref: str, names_by_id: dict[str, str]) -> str:
    """A ' (did you mean ...?)' hint for an unknown reference, or ''.

    ``names_by_id`` maps each known id to its name. Besides near-spellings of an id, a
    reference that is the start or a part of an id (``inside="corp"`` for
    ``corp-build-cluster``) or close to a name finds it: people write the short name they
    have in mind, not the id that was derived from the whole name. The hint says how ids
    derive from names, which is the usual cause.
    """
    low = ref.lower()
    close = difflib.get_close_matches(low, list(names_by_id), n=3, cutoff=0.6)
    if not close and low:
        close = sorted(i for i in names_by_id if i.startswith(low))[:3]
    if not close and len(low) >= 3:
        close = sorted(i for i in names_by_id if low in i)[:3]
    if not close:
        by_name = {n.lower(): i for i, n in names_by_id.items()}
        close = [by_name[n] for n in difflib.get_close_matches(low, list(by_name), n=3)]
    if not close:
        return ""
    first = close[0]
    return (
        f" (did you mean {', '.join(repr(c) for c in close)}? an id derives from the name: "
        f"{shown(names_by_id[first])} has id {first!r})"
    )


#: Contract clauses and the catalogue controls they stand for (vendor facts -> controls).
CLAUSE_CONTROLS = {
    "data_ownership": "vendor.contract_data_ownership",
    "phi_handling": "vendor.contract_phi_handling",
    "model_transparency": "vendor.contract_model_transparency",
    "audit_rights": "vendor.contract_audit_rights",
    "breach_notification": "vendor.contract_breach_notification",
    "data_retention": "vendor.contract_retention",
    "no_training_on_customer_data": "vendor.contract_no_training",
    "exit_strategy": "vendor.contract_exit_strategy",
    "subcontractor_flowdown": "vendor.contract_subcontractor_flowdown",
}


#: The note on controls that ``_derive_vendor_controls`` adds (the engine re-checks such
#: controls against the vendor's dated facts on the run date).
DERIVED_NOTE = "derived from vendor facts"


def _derived_vendor_controls(el: Element) -> list[ControlRef]:
    """The controls a vendor's signed BAA and contract clauses stand for, that the element
    does not declare itself (each noted as derived)."""
    if el.vendor is None:
        return []
    wanted = (["vendor.baa"] if el.vendor.baa is not None else []) + [
        CLAUSE_CONTROLS[c] for c in el.vendor.clauses
    ]
    have = el.control_ids()
    return [
        ControlRef(id=cid, note=DERIVED_NOTE, location=el.location)
        for cid in wanted
        if cid not in have
    ]


#: Kinds that can take part in oversight: elements that act or decide. Stores, datasets,
#: outside content and vendors neither approve nor act.
_OVERSIGHT_KINDS = frozenset(
    Kind(k) for k in ("actor", "app", "process", "llm", "ml_model", "agent", "tool", "guardrail")
)


def _check_oversight(
    el: Element,
    elements: Mapping[str, Element],
    resolve: Callable[[str], str | None],
    err: Callable[[Location | None, str, str | None], None],
) -> None:
    """Resolve the elements ``el`` oversees and check the relation makes sense: both ends
    act, nothing oversees itself, and no pair is listed twice with the same role."""
    if el.kind not in _OVERSIGHT_KINDS:
        err(
            el.location,
            f"an element of kind {el.kind.value!r} cannot oversee others; oversight is done by "
            "people, apps, processes, models, agents, tools or guardrails",
            "oversees",
        )
        return
    seen: set[tuple[str, str]] = set()
    for o in el.oversees:
        got = resolve(o.element)
        if got is None:
            continue
        o.element = got
        target = elements[got]
        if got == el.id:
            err(
                el.location,
                f"{el.id!r} cannot oversee itself: an element that approves its own actions is "
                "not overseen; remove the entry",
                "oversees",
            )
        elif target.kind not in _OVERSIGHT_KINDS:
            err(
                el.location,
                f"{got!r} is of kind {target.kind.value!r}, which does not act; oversee the "
                "agent, model or app that uses it",
                "oversees",
            )
        elif (got, o.role) in seen:
            err(el.location, f"oversight of {got!r} as {o.role!r} listed twice", "oversees")
        seen.add((got, o.role))


def finalize(
    model: SystemModel,
    known_controls: Collection[str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> SystemModel:
    """Assign ids, resolve references by id or name, and check the model's consistency.

    ``model`` is one a loader has just built: it is completed in place (ids, references
    resolved to ids, control locations, derived vendor controls, notes) and returned. The
    steps run in order; each one's changes are made where the step says so, and every
    problem of every step is collected before failing.

    ``aliases`` maps former control ids (merged controls) to their current id: a model that
    declares one gets the current id, and a deprecation note naming the file and line.

    Raises InputError listing every problem found (not just the first), each with file:line.
    """
    check = _Check(model.location)
    _assign_model_id(model, check)
    elements = _assign_ids(model.elements, "element", check)
    refs = _Refs(
        check,
        _assign_ids(model.boundaries, "boundary", check),
        _assign_ids(model.data, "data", check),
        elements,
    )
    _resolve_boundary_parents(model.boundaries, refs)
    controls = _Controls(check, known_controls, aliases)
    controls.check(model.model, model.location)
    vendor_ids = {e.id for e in model.elements if e.kind is Kind.VENDOR}
    for el in model.elements:
        _resolve_element(el, refs, vendor_ids)
        if el.oversees:
            overseen = functools.partial(
                refs.one, kind="element", what="overseen element", loc=el.location, field="oversees"
            )
            _check_oversight(el, elements, overseen, check.err)
        controls.check(el, el.location)
        el.controls.extend(_derived_vendor_controls(el))
    for fl in _resolve_flows(model.flows, refs):
        controls.check(fl, fl.location)
    if check.problems:
        raise InputError(check.problems)
    model.notes.extend(controls.notes)
    model.notes.extend(migrate_v1_tags(model))
    model.notes.extend(migrate_v1_authenticated(model))
    return model


class _Check:
    """The problems found so far; a location missing on an item falls back to the model's."""

    def __init__(self, top: Location | None) -> None:
        self.top = top
        self.problems: list[Problem] = []

    def err(self, loc: Location | None, message: str, field: str | None = None) -> None:
        file, line = _where(loc, self.top)
        self.problems.append(Problem(file, line, message, field))


def _assign_model_id(model: SystemModel, check: _Check) -> None:
    """The model's id from its name when none is given; a given one must be valid."""
    if not model.model.id:
        model.model.id = slugify(model.model.name)
    elif not valid_id(model.model.id):
        # The model id names report directories and SRA files: "../x" must never get there.
        check.err(model.location, bad_id("model", model.model.id), "model.id")


def _assign_ids(items: list[T], what: str, check: _Check) -> dict[str, T]:
    """Ids from names where none is given; the items by id (the first of duplicates)."""
    by_id: dict[str, T] = {}
    for item in items:
        if not item.id:
            item.id = slugify(item.name)
        elif not valid_id(item.id):
            check.err(item.location, bad_id(what, item.id), "id")
        if item.id in by_id:
            first = by_id[item.id].location
            check.err(
                item.location,
                f"duplicate {what} id {item.id!r} "
                f"(first declared at {first or 'unknown'}); give one an explicit id=",
                "id",
            )
        else:
            by_id[item.id] = item
    return by_id


def _names(by_id: Mapping[str, Boundary | DataAsset | Element]) -> dict[str, str]:
    """Name (as written and lowercased) -> id, the first item of a name winning."""
    names: dict[str, str] = {}
    for item in by_id.values():
        names.setdefault(item.name, item.id)
        names.setdefault(item.name.lower(), item.id)
    return names


RefKind = Literal["boundary", "data", "element"]
Item = Boundary | DataAsset | Element


class _Refs:
    """Resolves references to boundaries, data and elements, by id or by name."""

    def __init__(
        self,
        check: _Check,
        boundaries: dict[str, Boundary],
        data: dict[str, DataAsset],
        elements: dict[str, Element],
    ) -> None:
        self.check = check
        self.boundaries = boundaries
        self._index: dict[
            RefKind, tuple[Mapping[str, Boundary | DataAsset | Element], dict[str, str]]
        ] = {
            "boundary": (boundaries, _names(boundaries)),
            "data": (data, _names(data)),
            "element": (elements, _names(elements)),
        }

    def one(
        self, ref: str, kind: RefKind, what: str, loc: Location | None, field: str
    ) -> str | None:
        """The id of the ``kind`` that ``ref`` stands for (an id, a name, a name in another
        case), or None after reporting it unknown."""
        by_id, names = self._index[kind]
        if ref in by_id:
            return ref
        if ref in names:
            return names[ref]
        if ref.lower() in names:
            return names[ref.lower()]
        hint = suggest_ref(ref, {i: x.name or i for i, x in by_id.items()})
        self.check.err(loc, f"unknown {what} {shown(ref)}{hint}", field)
        return None

    def many(
        self, refs: list[str], kind: RefKind, what: str, loc: Location | None, field: str
    ) -> list[str]:
        """The ids of ``refs`` that resolve, each once, in their first order."""
        out = [r for r in (self.one(x, kind, what, loc, field) for x in refs) if r]
        return sorted(set(out), key=out.index)


def _resolve_boundary_parents(boundaries: list[Boundary], refs: _Refs) -> None:
    """Parents resolved to ids; a boundary that is its own parent, or in a cycle, gets none."""
    for b in boundaries:
        if b.parent is not None:
            b.parent = refs.one(b.parent, "boundary", "parent boundary", b.location, "parent")
            if b.parent == b.id:
                refs.check.err(b.location, f"boundary {b.id!r} is its own parent", "parent")
                b.parent = None
    for b in boundaries:
        seen = {b.id}
        cur = b.parent
        while cur is not None:
            if cur in seen:
                refs.check.err(b.location, f"boundary {b.id!r} is part of a parent cycle", "parent")
                b.parent = None
                break
            seen.add(cur)
            cur = refs.boundaries[cur].parent if cur in refs.boundaries else None


class _Controls:
    """Checks declared controls: known to the library, declared once; former ids read as
    their current ones (with a note each)."""

    def __init__(
        self,
        check: _Check,
        known: Collection[str] | None,
        aliases: Mapping[str, str] | None,
    ) -> None:
        self.problems = check
        self.known = set(known) if known is not None else None
        self.renamed = dict(aliases or {})
        self.notes: list[ModelNote] = []

    def check(self, owner: ModelInfo | Element | Flow, loc: Location | None) -> None:
        """Check ``owner``'s controls: former ids replaced (a new list), missing locations
        set to ``loc``."""
        refs = owner.controls
        if self.renamed and any(c.id in self.renamed for c in refs):
            refs = owner.controls = _resolve_aliases(refs, self.renamed, loc, self.notes)
        seen: set[str] = set()
        for c in refs:
            if c.location is None:
                c.location = loc
            if self.known is not None and c.id not in self.known:
                self.problems.err(
                    c.location, f"unknown control {c.id!r}{suggest(c.id, self.known)}", "controls"
                )
            if c.id in seen:
                self.problems.err(c.location, f"control {c.id!r} declared twice", "controls")
            seen.add(c.id)


def _resolve_element(el: Element, refs: _Refs, vendor_ids: set[str]) -> None:
    """An element's references (boundary, data, provider, sub-processors, BAA services)
    resolved to ids; a provider or sub-processor must be a vendor other than itself."""
    err = refs.check.err
    if el.boundary is not None:
        bid = refs.one(el.boundary, "boundary", "boundary", el.location, "boundary")
        if bid != el.boundary:
            el.boundary = bid
    # Assign only what resolving changed: pydantic attribute assignment is not free and most
    # elements list nothing here.
    for fieldname in ("stores", "processes", "trained_on"):
        listed = getattr(el, fieldname)
        if listed:
            got = refs.many(listed, "data", "data", el.location, fieldname)
            if got != listed:
                setattr(el, fieldname, got)
    if el.provider is not None:
        el.provider = refs.one(el.provider, "element", "provider", el.location, "provider")
        if el.provider is not None and el.provider not in vendor_ids:
            err(
                el.location,
                f"provider {el.provider!r} is not an element of kind 'vendor'",
                "provider",
            )
        if el.provider == el.id:
            err(el.location, "an element cannot be its own provider", "provider")
    if el.vendor is None:
        return
    field = "vendor.subprocessors"
    subs = refs.many(el.vendor.subprocessors, "element", "sub-processor", el.location, field)
    for s in subs:
        if s not in vendor_ids:
            err(el.location, f"sub-processor {s!r} is not an element of kind 'vendor'", field)
        if s == el.id:
            err(el.location, "a vendor cannot be its own sub-processor", field)
    el.vendor.subprocessors = subs
    if el.vendor.baa is not None:
        el.vendor.baa.services = [
            s
            if s == "*"
            else (refs.one(s, "element", "BAA service", el.location, "vendor.baa.services") or s)
            for s in el.vendor.baa.services
        ]


def _resolve_flows(flows: list[Flow], refs: _Refs) -> Iterator[Flow]:
    """Flow ends and data resolved to ids, ids from the ends and the name; yields each flow
    that resolved and is not a duplicate, as soon as it is done (so that the problems of its
    controls, checked by the caller, come right after its own)."""
    err = refs.check.err
    by_id: dict[str, Flow] = {}
    for fl in flows:
        src = refs.one(fl.source, "element", "flow source", fl.location, "from")
        dst = refs.one(fl.target, "element", "flow target", fl.location, "to")
        if src is None or dst is None:
            continue
        if (src, dst) != (fl.source, fl.target):
            fl.source, fl.target = src, dst
        if src == dst:
            err(
                fl.location,
                f"flow from {src!r} to itself; model the internal step as its own element",
                "to",
            )
        if fl.data:
            got = refs.many(fl.data, "data", "data", fl.location, "data")
            if got != fl.data:
                fl.data = got
        if not fl.id:
            fl.id = f"{src}--{dst}" + (f"--{slugify(fl.name)}" if fl.name else "")
            if fl.id in by_id:
                err(
                    fl.location,
                    f"duplicate flow {fl.id!r} (same source, target and name); "
                    "give the flows distinct names or explicit ids",
                    "name",
                )
                continue
        elif not valid_id(fl.id):
            err(fl.location, bad_id("flow", fl.id), "id")
        if fl.id in by_id:
            err(fl.location, f"duplicate flow id {fl.id!r}", "id")
            continue
        by_id[fl.id] = fl
        yield fl


def _resolve_aliases(
    refs: list[ControlRef],
    renamed: Mapping[str, str],
    loc: Location | None,
    notes: list[ModelNote],
) -> list[ControlRef]:
    """The controls with former ids replaced by the current ones, one note per replacement.

    Declaring both the former and the current id is one control, not a duplicate: the
    former is dropped (its evidence added to the current one's).
    """
    out: list[ControlRef] = []
    by_id: dict[str, ControlRef] = {}
    aliased: set[str] = set()  # current ids that some former id was read as
    for c in refs:
        new = renamed.get(c.id)
        if new is not None:
            notes.append(
                ModelNote(
                    message=f"control {c.id!r} is deprecated (merged into {new!r}); it is read "
                    f"as {new!r}: write {new!r} instead",
                    location=c.location or loc,
                )
            )
            c = c.model_copy(update={"id": new})
            aliased.add(new)
        have = by_id.get(c.id)
        if have is None:
            by_id[c.id] = c
            out.append(c)
        elif c.id in aliased:
            have.evidence.extend(ev for ev in c.evidence if ev not in have.evidence)
        else:
            out.append(c)  # a plain duplicate: reported as declared twice
    return out


#: Tag words the v1 library read, and the typed fields that say the same now:
#: (field, value) pairs. Tags are free labels again; these are read once, here, with a warning.
_IDENTITY = ("decides", "identity")
V1_TAGS: dict[str, tuple[tuple[str, str], ...]] = {
    **{t: (("decides", "security"),) for t in ("security", "intrusion", "malware", "phishing")},
    **{t: (("decides", "fraud"),) for t in ("fraud", "anti-fraud")},
    "identity": (_IDENTITY,),
    "authentication": (_IDENTITY,),
    # v1 read these both as identity decisions and as camera or sensor input.
    "kyc": (_IDENTITY, ("inputs", "image")),
    "identity-verification": (_IDENTITY, ("inputs", "image")),
    "biometric": (_IDENTITY, ("inputs", "biometric")),
    **{t: (("decides", "moderation"),) for t in ("moderation", "spam", "abuse")},
    "clinical": (("decides", "medical"),),
    "legal": (("decides", "legal"),),
    "financial": (("decides", "credit"),),
    **{t: (("inputs", "image"),) for t in ("vision", "camera", "face")},
    **{t: (("inputs", "audio"),) for t in ("voice", "speaker-verification")},
    "liveness": (("inputs", "biometric"),),
    **{
        t: (("content", "logs"),)
        for t in ("logs", "logging", "telemetry", "observability", "audit-log")
    },
}

_MODEL_KINDS = frozenset({Kind.LLM, Kind.ML_MODEL, Kind.AGENT})
_STORE_KINDS = frozenset({Kind.DATASTORE, Kind.VECTOR_STORE, Kind.MEMORY})


def migrate_v1_tags(model: SystemModel) -> list[ModelNote]:
    """Read the tag words v1 rules read into the typed fields that replaced them, once.

    A model written for v1 keeps its findings; each tag read this way gets a warning that says
    what to write instead. A typed field already given wins (the tag is then only a label).
    """
    notes: list[ModelNote] = []
    for el in model.elements:
        wanted: dict[str, list[str]] = {}
        for tag in el.tags:
            for fieldname, value in V1_TAGS.get(tag.lower(), ()):
                if fieldname == "content" and el.kind not in _STORE_KINDS:
                    continue
                if fieldname == "inputs" and el.kind not in _MODEL_KINDS:
                    continue
                if fieldname == "decides" and el.kind not in (*_MODEL_KINDS, Kind.ACTOR):
                    continue
                if value not in wanted.setdefault(fieldname, []):
                    wanted[fieldname].append(value)
        for fieldname, values in wanted.items():
            if fieldname == "content":
                if el.content is not None:
                    continue
                el.content = "logs"
                spelled = "content='logs'"
            else:
                current = getattr(el, fieldname)
                if current:
                    continue
                setattr(el, fieldname, list(values))
                spelled = f"{fieldname}={values!r}"
            notes.append(
                ModelNote(
                    message=f"{el.id}: tags are free labels and no rule reads them; this one "
                    f"is read as {spelled} for now (deprecated): write {spelled} instead",
                    location=el.location,
                )
            )
    return notes


def migrate_v1_authenticated(model: SystemModel) -> list[ModelNote]:
    """Read v1's boolean ``authenticated`` as whose credential it is, once.

    ``false`` is ``none``. ``true`` on a flow to or from a person is that person's sign-in
    (``user``): nothing else can be meant. Between programs v1 rules read it as the caller's
    own identity (``service``), which it keeps, with a warning: many models mark a person's
    session that an app passes on the same way, and the two end a chain of requests
    differently (docs/dsl.md#flows).
    """
    notes: list[ModelNote] = []
    people = {e.id for e in model.elements if e.kind is Kind.ACTOR}
    for fl in model.flows:
        if fl.authenticated is False:
            fl.authenticated = "none"
        elif fl.authenticated is True:
            if fl.source in people or fl.target in people:
                fl.authenticated = "user"
                continue
            fl.authenticated = "service"
            notes.append(
                ModelNote(
                    message=f"{fl.id}: 'authenticated: true' between programs is read as "
                    "'service' (the calling program proves its own identity) for now "
                    "(deprecated): write 'authenticated: service', or 'user' if it is a "
                    "person's sign-in or session passed on",
                    location=fl.location,
                )
            )
    return notes
