"""Does the model say things no rule can read? Warnings about facts declared where they have no
effect: a field on a kind of element the library never tests it on, and a control on an
element kind (or a flow) where no rule that names it looks. Both are worked out from the
active rules themselves, so custom libraries get the same truth. A model that means
something the rules cannot see should hear so instead of passing quietly.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from threatgraph.engine.compile import kinds_of
from threatgraph.engine.evaluate import default_places
from threatgraph.engine.library import Library
from threatgraph.engine.rules import ElementPred
from threatgraph.model.schema import Element, Kind, ModelNote, SystemModel
from threatgraph.model.validate import DERIVED_NOTE

#: Element fields that rules can test (``attr`` names, and the typed predicate keys).
_TYPED_KEYS = ("artifact", "software")
_ALL_KINDS = frozenset(Kind)


def readable_fields(lib: Library) -> dict[str, frozenset[Kind]]:
    """The element kinds on which the active rules (and the predicates they use) test each
    element field: a field set on any other kind changes no finding."""
    named = lib.predicates
    out: dict[str, set[Kind]] = {}

    def walk(node: object) -> None:
        if isinstance(node, ElementPred):
            got = kinds_of(node, named)
            ks = _ALL_KINDS if got is None else got
            for name in node.attr or {}:
                out.setdefault(name, set()).update(ks)
            for name in _TYPED_KEYS:
                if getattr(node, name) is not None:
                    out.setdefault(name, set()).update(ks)
        if isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name))
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)

    for lr in lib.active:
        walk(lr.rule.match)
        walk(lr.rule.severity_when)
    for pred in named.values():
        walk(pred)
    return {k: frozenset(v) for k, v in out.items()}


#: Fields the notes look at (the AI facts; names, owners and the like are for people).
CHECKED_FIELDS = (
    "returns_scores",
    "decides",
    "inputs",
    "artifact",
    "autonomous",
    "mcp",
    "transport",
    "listens_on",
    "persistent",
    "content",
    "source",
    "capabilities",
    "software",
    "runs_third_party_code",
    "platform",
    "triggered_by",
    "interpreter",
    "internet_facing",
    "multi_tenant",
)


def _is_set(el: Element, name: str) -> bool:
    value = getattr(el, name)
    return value not in (None, [], "")


#: Where a control is read, per control: the element kinds, and whether flows count.
Readable = dict[str, tuple[frozenset[Kind], bool]]


def readable_places(lib: Library) -> Readable:
    """Where the active rules look for each control: on which element kinds (from the kinds
    their predicates can match at each place a mitigation names), and whether on flows."""
    named = lib.predicates
    out: dict[str, tuple[set[Kind], bool]] = {}

    def kinds(p: ElementPred | None) -> frozenset[Kind]:
        got = kinds_of(p, named) if p is not None else None
        return _ALL_KINDS if got is None else got

    for lr in lib.active:
        m = lr.rule.match
        if m.element is not None:
            primary = src = dst = kinds(m.element)
        elif m.flow is not None:
            derived = not isinstance(m.primary, str) or m.primary in ("requester", "server")
            if m.primary in ("sender", "receiver"):
                src, dst = kinds(m.flow.sender), kinds(m.flow.receiver)
            else:
                src = kinds(m.flow.requester if derived else m.flow.source)
                dst = kinds(m.flow.server if derived else m.flow.target)
            if isinstance(m.primary, str):
                primary = src if m.primary in ("source", "requester", "sender") else dst
            else:
                primary = kinds(m.primary)
        else:
            assert m.path is not None
            src, dst = kinds(m.path.from_), kinds(m.path.to)
            primary = dst
        default = default_places(m.mode)
        for mit in lr.rule.mitigations:
            ks, on_flows = out.setdefault(mit.control, (set(), False))
            for place in mit.at or default:
                if place == "element":
                    ks |= primary
                elif place == "source":
                    ks |= src
                elif place == "target":
                    ks |= dst
                elif place == "provider":
                    ks.add(Kind.VENDOR)
                elif place in ("path", "upstream", "downstream"):
                    ks |= _ALL_KINDS
                    on_flows = True
                elif place == "flow":
                    on_flows = True
            out[mit.control] = (ks, on_flows)
    return {c: (frozenset(ks), f) for c, (ks, f) in out.items()}


@dataclass(frozen=True)
class ReadMap:
    """Where the active rules read each element field and look for each control."""

    fields: dict[str, frozenset[Kind]]
    controls: Readable

    @classmethod
    def of(cls, lib: Library) -> ReadMap:
        """Worked out from the library's active rules (once per run)."""
        return cls(readable_fields(lib), readable_places(lib))


def model_notes(model: SystemModel, lib: Library, read: ReadMap | None = None) -> list[ModelNote]:
    """Warnings about fields and controls declared where no rule reads them.

    A control counts where an active rule names it as a mitigation at a place that can be an
    element of that kind (or a flow). Controls no active rule names at all are not reported:
    they may be evidence for reviews and the HIPAA analysis; controls the catalogue marks
    ``deprecated`` are, with the catalogue's reason.
    """
    read = read or ReadMap.of(lib)
    readable, fields = read.controls, read.fields
    notes: list[ModelNote] = []
    retired = {cid: c.deprecated for cid, c in lib.controls.items() if c.deprecated}
    if retired:
        declared = [(model.model.controls, model.location)]
        declared += [(el.controls, el.location) for el in model.elements]
        declared += [(fl.controls, fl.location) for fl in model.flows]
        for refs, loc in declared:
            for ref in refs:
                if ref.id in retired:
                    notes.append(
                        ModelNote(
                            message=f"control {ref.id} is deprecated and closes no finding: "
                            f"{retired[ref.id]}",
                            location=ref.location or loc,
                        )
                    )
    for el in model.elements:
        for name in CHECKED_FIELDS:
            kinds = fields.get(name, frozenset())
            if el.kind not in kinds and _is_set(el, name):
                where = ", ".join(sorted(k.value for k in kinds)) or "no kind"
                notes.append(
                    ModelNote(
                        message=f"{el.id}: '{name}' on a {el.kind.value} is read by no rule "
                        f"(rules read it on: {where})",
                        location=el.location,
                    )
                )
        for ref in el.controls:
            got = readable.get(ref.id)
            if got is None or ref.note == DERIVED_NOTE or el.kind in got[0]:
                continue
            where = ", ".join(sorted(k.value for k in got[0])) or "flows only"
            notes.append(
                ModelNote(
                    message=f"{el.id}: no rule looks for control {ref.id} on a "
                    f"{el.kind.value} (rules look for it on: {where})",
                    location=ref.location or el.location,
                )
            )
    for fl in model.flows:
        for ref in fl.controls:
            got = readable.get(ref.id)
            if got is None or got[1]:
                continue
            notes.append(
                ModelNote(
                    message=f"flow {fl.id}: no rule looks for control {ref.id} on a flow "
                    f"(rules look for it on: {', '.join(sorted(k.value for k in got[0]))})",
                    location=ref.location or fl.location,
                )
            )
    return notes
