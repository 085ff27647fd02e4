"""Open Threat Model (OTM 0.1.0 / 0.2.0) files, JSON or YAML, as threatgraph models. No code
runs.

Trust zones become boundaries (trust from ``x-threatgraph.trust``, a known zone type, or the
trustRating), components become elements (kind from ``x-threatgraph.kind``, ``--map-type``,
the vocabulary tables in :mod:`threatgraph.load.otm_map`, the type's words, else the
default kind with a warning); network containers (VPCs, subnets, security groups) become
boundaries. Dataflows become flows (a bidirectional dataflow becomes two), assets become
data. OTM threats and mitigations are not imported as such: threatgraph derives its own from
the library. Mitigations marked ``implemented`` whose id is a control of the loaded library
become declared controls.

What the other tool wrote that threatgraph has no field for (component types, nesting,
ratings, tags, attributes, representations, original ids) is kept in the ``otm`` field of
each object, so that :mod:`threatgraph.interop.otm_export` writes it back. Every problem is
reported with the file and line of the offending object, exit code 2; a component that is
rejected is reported once, not again by every reference to it.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from pydantic import ValidationError

from threatgraph.load import otm_map
from threatgraph.model.schema import (
    Boundary,
    Classification,
    DataAsset,
    Decision,
    Element,
    Flow,
    Kind,
    Location,
    ModelInfo,
    SystemModel,
    Trust,
    slugify,
    valid_id,
)
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.hints import suggest
from threatgraph.util.yamlsafe import LineDict, parse_json, parse_text, read_text

SUFFIXES = (".json", ".otm", ".yaml", ".yml")

_YAML_VERSION_KEY = re.compile(r"^[\"']?otmVersion[\"']?\s*:", re.MULTILINE)


def looks_like_model(path: Path, head: str) -> bool:
    """Static check for directory searches: an ``otmVersion`` key (JSON, or YAML at the top)."""
    del path
    return '"otmVersion"' in head or bool(_YAML_VERSION_KEY.search(head))


def read_document(path: Path) -> Any:
    """Parse an OTM file, JSON or YAML, keeping line numbers (LineDict/LineList).

    A document that starts with ``{`` is JSON: the JSON reader checks the text (syntax,
    duplicate keys, nesting depth, each with its line), then the YAML reader adds the lines
    of scalar list items where it can. Anything else is YAML (IriusRisk's API exports YAML),
    read by the safe YAML reader.
    """
    file = str(path)
    text = read_text(path)
    if not text.lstrip().startswith("{"):
        return parse_text(text, file)
    doc = parse_json(text, file)
    try:
        return parse_text(text, file)
    except InputError:
        return doc  # valid JSON that the YAML reader refuses: container lines only


@functools.lru_cache(maxsize=1)
def _catalogue() -> frozenset[str]:
    """Control ids of the built-in catalogue (when the caller loaded no library)."""
    from threatgraph.util.paths import builtin_root
    from threatgraph.util.yamlsafe import load_document

    path = builtin_root() / "controls.yaml"
    try:
        doc = load_document(path)
    except InputError:
        return frozenset()
    items = doc.get("controls", []) if isinstance(doc, dict) else []
    return frozenset(str(c["id"]) for c in items if isinstance(c, dict) and "id" in c)


@dataclass
class OtmImport:
    """A converted OTM document and what was left out."""

    model: SystemModel
    warnings: list[str] = field(default_factory=list)


def load(path: Path) -> list[SystemModel]:
    """One model per OTM file, with the built-in catalogue and no type mappings."""
    return [parse(path).model]


def parse(
    path: Path,
    type_map: Mapping[str, Kind] | None = None,
    known_controls: frozenset[str] | None = None,
) -> OtmImport:
    """Convert an OTM file; ``type_map`` adds component type -> kind entries,
    ``known_controls`` are the loaded library's controls (default: the built-in catalogue)."""
    controls = known_controls if known_controls is not None else _catalogue()
    return _Reader(str(path), read_document(path), type_map or {}, controls).run()


def _line(obj: Any, key: str | None = None) -> int:
    if isinstance(obj, LineDict):
        if key is not None and key in obj.key_lines:
            return obj.key_lines[key]
        return obj.line
    return 0


def _plain(value: Any) -> Any:
    """``value`` as plain dicts and lists (LineDict and LineList carry line numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(
        f"{name!r}" + (f" ({n})" if n > 1 else "") for name, n in sorted(counter.items())
    )


class _Ids:
    """OTM ids -> threatgraph ids (kept when valid, else slugified), unique per namespace.

    OTM ids are case sensitive and threatgraph ids are lowercase, so 'Flow1' and 'flow1' get
    two ids ('flow1', 'flow1-2'), never one.
    """

    def __init__(self) -> None:
        self.of: dict[str, str] = {}
        self.used: set[str] = set()

    def add(self, otm_id: str) -> str:
        tg = otm_id if valid_id(otm_id) else slugify(otm_id)
        return self.reserve(otm_id, tg)

    def reserve(self, key: str, tg: str) -> str:
        base, n = tg, 2
        while tg in self.used:
            tg, n = f"{base}-{n}", n + 1
        self.used.add(tg)
        self.of[key] = tg
        return tg


@dataclass
class _Comp:
    """A component that passed the first checks."""

    obj: dict[str, Any]
    otm_id: str
    how: str  # "kind", "keyword", "empty", "unknown", "container", "ours"
    kind: Kind | None
    tg: str = ""
    parent: tuple[str, str] | None = None  # ("zone" | "component", otm id)


class _Reader:
    def __init__(
        self, file: str, doc: Any, type_map: Mapping[str, Kind], controls: frozenset[str]
    ) -> None:
        self.file = file
        self.doc = doc
        self.type_map = type_map
        self.known_controls = controls
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.project_carry: dict[str, Any] = {}

    # -- helpers ------------------------------------------------------------------------
    def err(self, obj: Any, message: str, key: str | None = None, where: str | None = None) -> None:
        self.problems.append(Problem(self.file, _line(obj, key), message, where or key))

    def loc(self, obj: Any) -> Location:
        return Location(file=self.file, line=_line(obj) or 1)

    def items(self, key: str, report: bool = True) -> list[dict[str, Any]]:
        value = self.doc.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            if report:
                self.err(self.doc, f"'{key}' must be a list", key)
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                out.append(item)
            elif report:
                line = value.item_lines[i] if hasattr(value, "item_lines") else 0
                self.problems.append(Problem(self.file, line, "expected an object", f"{key}.{i}"))
        return out

    def text(self, obj: dict[str, Any], key: str, what: str, required: bool = True) -> str | None:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                self.err(obj, f"{what} has no '{key}'", key)
            return None
        if not isinstance(value, str):
            self.err(obj, f"{what}: '{key}' must be a string", key)
            return None
        return value

    def ours(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The ``attributes.x-threatgraph`` facts of an OTM object (from a threatgraph export)."""
        attrs = obj.get("attributes")
        if not isinstance(attrs, dict):
            return {}
        value = attrs.get(otm_map.ATTR)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.err(attrs, f"attributes.{otm_map.ATTR} must be an object", otm_map.ATTR)
            return {}
        return dict(value)

    @staticmethod
    def is_ours(obj: dict[str, Any]) -> bool:
        attrs = obj.get("attributes")
        return isinstance(attrs, dict) and isinstance(attrs.get(otm_map.ATTR), dict)

    def carry(self, obj: dict[str, Any], otm_id: str, tg: str) -> dict[str, Any]:
        """What every OTM object may hold and threatgraph has no field for: the other tool's
        attributes, its representations, and the original id when it was not a valid id."""
        out: dict[str, Any] = {}
        if otm_id != tg:
            out["id"] = otm_id
        attrs = obj.get("attributes")
        if isinstance(attrs, dict):
            foreign = {k: v for k, v in attrs.items() if k != otm_map.ATTR}
            if foreign:
                out["attributes"] = _plain(foreign)
        reps = obj.get("representations")
        if isinstance(reps, list):
            kept = [
                _plain(r)
                for r in reps
                if isinstance(r, dict)
                and isinstance(r.get("representation"), str)
                and isinstance(r.get("id"), str)
                and r.get("representation") != otm_map.SOURCE_REPRESENTATION
            ]
            if kept:
                out["representations"] = kept
        return out

    def validated(self, cls: type[Any], rec: dict[str, Any], obj: Any, prefix: str) -> Any:
        try:
            return cls.model_validate(rec)
        except ValidationError as exc:
            for e in exc.errors():
                where = ".".join(str(p) for p in e["loc"])
                msg = "unknown field (typo?)" if e["type"] == "extra_forbidden" else e["msg"]
                self.problems.append(
                    Problem(self.file, _line(obj), msg, f"{prefix}.{where}" if where else prefix)
                )
            return None

    def controls(self, obj: dict[str, Any], extra: dict[str, Any]) -> list[Any]:
        """Declared controls: from our own export's attributes when present (lossless), else
        the implemented mitigations of a foreign OTM file that name known controls."""
        attrs = obj.get("attributes")
        if isinstance(attrs, dict) and otm_map.ATTR in attrs:
            controls = extra.pop("controls", None) or []
            # A single value becomes a one-item list: the schema then checks the item.
            return list(controls) if isinstance(controls, list) else [controls]
        return list(self.implemented(obj))

    def implemented(self, obj: dict[str, Any]) -> list[str]:
        """Known controls among the mitigations an OTM object marks as implemented."""
        out: list[str] = []
        threats = obj.get("threats")
        for t in threats if isinstance(threats, list) else []:
            if not isinstance(t, dict):
                continue
            mitigations = t.get("mitigations")
            for m in mitigations if isinstance(mitigations, list) else []:
                if (
                    isinstance(m, dict)
                    and m.get("state") == otm_map.MITIGATION_IMPLEMENTED
                    and isinstance(m.get("mitigation"), str)
                    and m["mitigation"] in self.known_controls
                    and m["mitigation"] not in out
                ):
                    out.append(m["mitigation"])
        return out

    # -- the document -------------------------------------------------------------------
    def run(self) -> OtmImport:
        doc = self.doc
        if not isinstance(doc, dict):
            raise InputError.single(self.file, 1, "an OTM file must be an object (JSON or YAML)")
        version = doc.get("otmVersion")
        if not isinstance(version, str):
            raise InputError.single(self.file, _line(doc), "missing 'otmVersion'", "otmVersion")
        if version not in otm_map.SUPPORTED_VERSIONS:
            raise InputError.single(
                self.file,
                _line(doc, "otmVersion"),
                f"unsupported otmVersion {version!r}; threatgraph reads "
                + ", ".join(otm_map.SUPPORTED_VERSIONS),
                "otmVersion",
            )
        project = doc.get("project")
        if not isinstance(project, dict):
            raise InputError.single(self.file, _line(doc), "missing 'project' object", "project")
        info = self.project(project)
        zones = self.zones()
        data, assets = self.assets()
        elements, containers, comps, rejected = self.components(zones, assets)
        flows = self.dataflows(comps, containers, rejected, assets)
        self.threat_warning()
        if self.problems:
            raise InputError(self.problems)
        decisions = self.decisions(project)
        if self.problems:
            raise InputError(self.problems)
        if info is not None and self.project_carry:
            info.otm = {**(info.otm or {}), **self.project_carry}
        model = SystemModel(
            model=info if info is not None else ModelInfo(name="OTM model"),
            boundaries=[*zones.boundaries, *containers.values()],
            data=data,
            elements=elements,
            flows=flows,
            decisions=decisions,
        )
        model.location = self.loc(doc)
        return OtmImport(model, self.warnings)

    def threat_warning(self) -> None:
        n_threats = len(self.items("threats"))
        n_mitigations = len(self.items("mitigations"))
        instances = 0
        for key in ("components", "dataflows"):
            for obj in self.items(key, report=False):
                if self.is_ours(obj):
                    continue  # our own findings: threatgraph derives them again
                t = obj.get("threats")
                instances += len(t) if isinstance(t, list) else 0
        if n_threats or n_mitigations or instances:
            self.warnings.append(
                f"{n_threats} threat(s), {n_mitigations} mitigation(s) and {instances} threat "
                "instance(s) on components and dataflows are not imported: threatgraph derives "
                "threats from its library (implemented mitigations that name known controls "
                "were kept as declared controls)"
            )

    def project(self, project: dict[str, Any]) -> ModelInfo | None:
        name = self.text(project, "name", "project") or "OTM model"
        pid = self.text(project, "id", "project") or ""
        extra = self.ours(project)
        rec: dict[str, Any] = {
            "name": name,
            "id": pid if valid_id(pid) else slugify(pid or name),
            "owner": project.get("owner") if isinstance(project.get("owner"), str) else None,
            "description": project.get("description")
            if isinstance(project.get("description"), str)
            else None,
        }
        for key in ("version", "controls", "operations"):
            if key in extra:
                rec[key] = extra[key]
        carry = self.carry(project, pid, rec["id"])
        carry.pop("representations", None)  # a project has none; the document's are below
        tags = project.get("tags")
        if isinstance(tags, list) and any(isinstance(t, str) for t in tags):
            carry["tags"] = [t for t in tags if isinstance(t, str)]
        if isinstance(project.get("ownerContact"), str):
            carry["ownerContact"] = project["ownerContact"]
        reps = self.doc.get("representations")
        if isinstance(reps, list):
            kept = [
                _plain(r)
                for r in reps
                if isinstance(r, dict)
                and all(isinstance(r.get(k), str) for k in ("name", "id", "type"))
                and r.get("id") != otm_map.SOURCE_REPRESENTATION
            ]
            if kept:
                carry["representations"] = kept
        if carry:
            rec["otm"] = carry
        info = self.validated(ModelInfo, rec, project, "project")
        return info if isinstance(info, ModelInfo) else None

    def decisions(self, project: dict[str, Any]) -> list[Decision]:
        out: list[Decision] = []
        items = self.ours(project).get("decisions") or []
        if not isinstance(items, list) or not all(isinstance(d, dict) for d in items):
            self.err(project, f"attributes.{otm_map.ATTR}.decisions must be a list of objects")
            return out
        for i, d in enumerate(items):
            item = self.validated(
                Decision, {**d, "location": self.loc(project)}, project, f"decisions.{i}"
            )
            if item is not None:
                out.append(item)
        return out

    # -- trust zones --------------------------------------------------------------------
    def zone_trust(self, z: dict[str, Any], zid: str) -> tuple[Trust | None, str]:
        """The trust of a zone and where it came from: our attributes, the zone type (or a
        built-in IriusRisk zone id), else the trustRating."""
        extra = self.ours(z)
        if extra.get("trust") is not None:
            try:
                return Trust(extra["trust"]), "ours"
            except ValueError:
                return None, "ours"  # the schema reports it
        by_type = otm_map.trust_of_zone_type(z.get("type")) or otm_map.trust_of_zone_type(zid)
        if by_type is not None:
            return by_type, "type"
        risk = z.get("risk")
        rating = risk.get("trustRating") if isinstance(risk, dict) else None
        if _number(rating):
            return otm_map.trust_of_rating(rating), "rating"
        return None, "none"

    def zones(self) -> _Zones:
        out = _Zones()
        raw: list[tuple[dict[str, Any], str, str]] = []
        for z in self.items("trustZones"):
            zid = self.text(z, "id", "trust zone")
            name = self.text(z, "name", "trust zone")
            if zid is None or name is None:
                if zid is not None:
                    out.rejected.add(zid)
                continue
            if zid in out.ids.of or zid in out.synthetic:
                self.err(z, f"duplicate trust zone id {zid!r}", "id")
                continue
            trust, _how = self.zone_trust(z, zid)
            if self.ours(z).get("synthetic") is True:
                # our export's stand-in for "outside every boundary"
                out.synthetic[zid] = trust
                continue
            raw.append((z, zid, out.ids.add(zid)))
        for z, zid, tg in raw:
            extra = self.ours(z)
            trust, how = self.zone_trust(z, zid)
            if how == "none":
                self.err(
                    z,
                    "trust zone has no numeric risk.trustRating and no known type",
                    "risk",
                )
                out.rejected.add(zid)
                continue
            parent = None
            carry = self.carry(z, zid, tg)
            p = z.get("parent")
            if isinstance(p, dict) and p.get("trustZone") is not None:
                pz = p["trustZone"]
                if not isinstance(pz, str):
                    self.err(z, "parent.trustZone must be a trust zone id (a string)", "parent")
                elif pz in out.ids.of:
                    parent = out.ids.of[pz]
                elif pz not in out.synthetic and pz not in out.rejected:
                    self.err(
                        z,
                        f"parent trust zone {pz!r} does not exist{suggest(str(pz), out.ids.of)}",
                        "parent",
                    )
            elif isinstance(p, dict) and p.get("component") is not None:
                self.warnings.append(
                    f"trust zone {z.get('name')!r} sits in component {p['component']!r}: "
                    "threatgraph boundaries nest only in boundaries; the parent is kept for "
                    "export only"
                )
                carry["parent"] = _plain(p)
            ztype = z.get("type")
            if isinstance(ztype, str) and (trust is None or ztype != trust.value):
                carry["type"] = ztype
            elif ztype is None:
                carry["type"] = None  # a zone written without a type: export adds none
            risk = z.get("risk")
            rating = risk.get("trustRating") if isinstance(risk, dict) else None
            if _number(rating) and (trust is None or rating != otm_map.TRUST_RATING[trust]):
                carry["rating"] = rating
            rec = {
                "id": tg,
                "name": z["name"],
                "trust": trust.value if trust is not None else extra.get("trust"),
                "parent": parent,
                "description": z.get("description")
                if isinstance(z.get("description"), str)
                else None,
                "location": self.loc(z),
            }
            if carry:
                rec["otm"] = carry
            b = self.validated(Boundary, rec, z, "trustZones")
            if b is not None:
                out.boundaries.append(b)
                out.trust[zid] = b.trust
            else:
                out.rejected.add(zid)
        for zid, trust in out.synthetic.items():
            if trust is not None:
                out.trust[zid] = trust
        return out

    # -- assets -------------------------------------------------------------------------
    def assets(self) -> tuple[list[DataAsset], dict[str, str]]:
        ids = _Ids()
        out = []
        unrated: list[str] = []
        for a in self.items("assets"):
            aid = self.text(a, "id", "asset")
            name = self.text(a, "name", "asset")
            if aid is None or name is None:
                continue
            if aid in ids.of:
                self.err(a, f"duplicate asset id {aid!r}", "id")
                continue
            tg = ids.add(aid)
            extra = self.ours(a)
            cls = extra.get("classification")
            carry = self.carry(a, aid, tg)
            risk = a.get("risk")
            if cls is None:
                conf = risk.get("confidentiality") if isinstance(risk, dict) else None
                if _number(conf):
                    cls = otm_map.classification_of_confidentiality(conf).value
                elif risk is None:
                    # threatcl writes assets without a risk: say so, and assume internal
                    cls = Classification.INTERNAL.value
                    unrated.append(aid)
                else:
                    self.err(a, "asset has no numeric risk.confidentiality", "risk")
                    continue
            if isinstance(risk, dict) and not extra:
                carry["risk"] = _plain(risk)
            rec = {
                "id": tg,
                "name": name,
                "classification": cls,
                "records": extra.get("records"),
                "description": a.get("description")
                if isinstance(a.get("description"), str)
                else None,
                "location": self.loc(a),
            }
            if carry:
                rec["otm"] = carry
            d = self.validated(DataAsset, rec, a, "assets")
            if d is not None:
                out.append(d)
        if unrated:
            self.warnings.append(
                f"{len(unrated)} asset(s) have no risk and were read as 'internal': "
                + ", ".join(repr(a) for a in unrated)
            )
        return out, ids.of

    def data_refs(self, obj: Any, refs: Any, assets: dict[str, str], key: str) -> list[str]:
        out: list[str] = []
        if refs is None:
            return out
        if not isinstance(refs, list):
            self.err(obj, f"'{key}' must be a list of asset ids", key)
            return out
        lines = getattr(refs, "item_lines", None)
        for i, r in enumerate(refs):
            if r is None:
                continue
            if isinstance(r, str) and r in assets:
                out.append(assets[r])
            else:
                line = lines[i] if lines else _line(obj, key)
                self.problems.append(
                    Problem(self.file, line, f"unknown asset {r!r}{suggest(str(r), assets)}", key)
                )
        return out

    # -- components ---------------------------------------------------------------------
    def classify(self, c: dict[str, Any], cid: str) -> _Comp | None:
        """Kind of a component, or None when it is rejected (reported here, once)."""
        extra = self.ours(c)
        if extra.get("kind") is not None:
            try:
                return _Comp(c, cid, "ours", Kind(extra["kind"]))
            except ValueError:
                self.err(c, f"unknown kind {extra['kind']!r}", "attributes", "kind")
                return None
        if extra.get("container") is True:
            return _Comp(c, cid, "container", None)
        ctype = c.get("type")
        if ctype is not None and not isinstance(ctype, str):
            self.err(c, "component: 'type' must be a string", "type")
            return None
        how, kind = otm_map.classify_type(ctype or "", self.type_map)
        return _Comp(c, cid, how, kind)

    def components(
        self, zones: _Zones, assets: dict[str, str]
    ) -> tuple[list[Element], dict[str, Boundary], dict[str, str], set[str]]:
        """Elements, boundaries from network containers (by OTM id), OTM component id ->
        element id, and the component ids left out (their problems were reported)."""
        comps, rejected = self.read_components()
        self.place_components(comps, zones, rejected)
        _mark_containers(comps, self.items("dataflows", report=False))
        cycle = self.parent_cycles(comps)
        # Containers become boundaries (their own namespace: boundary ids), elements the rest.
        ids = _Ids()
        for comp in comps.values():
            comp.tg = (
                zones.ids.add(comp.otm_id) if comp.how == "container" else ids.add(comp.otm_id)
            )
        nest = _Nesting(comps, zones, self.ours)
        tally = _TypeTally()
        containers: dict[str, Boundary] = {}
        elements: list[Element] = []
        for comp in comps.values():
            if comp.otm_id in cycle or comp.otm_id in rejected:
                continue
            if comp.how == "container":
                b = self.container(comp, nest)
                tally.containers.append(str(comp.obj["name"]))
                if b is not None:
                    containers[comp.otm_id] = b
            else:
                el = self.element(comp, nest, assets, tally)
                if el is not None:
                    elements.append(el)
        self.warnings.extend(tally.warnings())
        comp_ids = {cid: comp.tg for cid, comp in comps.items() if comp.how != "container"}
        comp_ids = {k: v for k, v in comp_ids.items() if k not in cycle}
        return elements, containers, comp_ids, rejected | cycle

    def read_components(self) -> tuple[dict[str, _Comp], set[str]]:
        """The components that pass the first checks (an id, a name, a type read), by id;
        the ids of those that do not."""
        comps: dict[str, _Comp] = {}
        rejected: set[str] = set()
        for c in self.items("components"):
            cid = self.text(c, "id", "component")
            name = self.text(c, "name", "component")
            if cid is None:
                continue
            if cid in comps:
                self.err(c, f"duplicate component id {cid!r}", "id")
                continue
            got = self.classify(c, cid) if name is not None else None
            if got is None:
                rejected.add(cid)
                continue
            comps[cid] = got
        return comps, rejected

    def place_components(self, comps: dict[str, _Comp], zones: _Zones, rejected: set[str]) -> None:
        """Each component's parent (a trust zone or a component) checked and recorded; one
        without a parent is rejected."""
        for comp in comps.values():
            c = comp.obj
            p = c.get("parent")
            if not isinstance(p, dict) or (
                p.get("trustZone") is None and p.get("component") is None
            ):
                self.err(c, "component has no parent (trustZone or component)", "parent")
                rejected.add(comp.otm_id)
                continue
            if p.get("trustZone") is not None:
                pz = p["trustZone"]
                if not isinstance(pz, str):
                    self.err(c, "parent.trustZone must be a trust zone id (a string)", "parent")
                elif pz in zones.ids.of or pz in zones.synthetic:
                    comp.parent = ("zone", pz)
                elif pz in zones.rejected:
                    pass  # the zone's own problem was reported
                else:
                    self.err(
                        c,
                        f"parent trust zone {pz!r} does not exist{suggest(str(pz), zones.ids.of)}",
                        "parent",
                    )
            else:
                pc = p["component"]
                if not isinstance(pc, str):
                    self.err(c, "parent.component must be a component id (a string)", "parent")
                elif pc in comps:
                    comp.parent = ("component", pc)
                elif pc not in rejected:
                    self.err(
                        c,
                        f"parent component {pc!r} does not exist{suggest(str(pc), comps)}",
                        "parent",
                    )

    def parent_cycles(self, comps: dict[str, _Comp]) -> set[str]:
        """Components in a cycle of component parents (each reported)."""
        cycle: set[str] = set()
        for comp in comps.values():
            seen = {comp.otm_id}
            cur = comp.parent
            while cur is not None and cur[0] == "component":
                if cur[1] in seen:
                    self.err(
                        comp.obj, f"component {comp.otm_id!r} is part of a parent cycle", "parent"
                    )
                    cycle.add(comp.otm_id)
                    break
                seen.add(cur[1])
                cur = comps[cur[1]].parent if cur[1] in comps else None
        return cycle

    def container(self, comp: _Comp, nest: _Nesting) -> Boundary | None:
        """A network container as a boundary with the trust of its zone (or its own, when a
        threatgraph export recorded one)."""
        c = comp.obj
        boundary, _zone = nest.enclosing(comp)
        carry = self.carry(c, comp.otm_id, comp.tg)
        ctype = c.get("type") if isinstance(c.get("type"), str) else None
        if comp.parent is not None and comp.parent[0] == "component":
            carry["parent"] = {"component": comp.parent[1]}
        tags = _tags(c)
        if ctype is not None:
            carry["type"] = ctype
        if tags:
            carry["tags"] = tags
        carry["container"] = True
        own = self.ours(c).get("trust")
        rec: dict[str, Any] = {
            "id": comp.tg,
            "name": c["name"],
            "trust": own if own is not None else nest.trust_of(comp).value,
            "parent": boundary,
            "description": c.get("description") if isinstance(c.get("description"), str) else None,
            "location": self.loc(c),
            "otm": carry,
        }
        b: Boundary | None = self.validated(Boundary, rec, c, "components")
        return b

    def element(
        self, comp: _Comp, nest: _Nesting, assets: dict[str, str], tally: _TypeTally
    ) -> Element | None:
        """A component as an element of the kind its type was read as (counted in
        ``tally`` when that took a guess)."""
        c = comp.obj
        boundary, _zone = nest.enclosing(comp)
        carry = self.carry(c, comp.otm_id, comp.tg)
        ctype = c.get("type") if isinstance(c.get("type"), str) else None
        p = comp.parent
        if p is not None and p[0] == "component":
            carry["parent"] = {"component": p[1]}
        tags = _tags(c)
        kind = comp.kind or otm_map.DEFAULT_KIND
        tally.count(comp.how, ctype, kind)
        if ctype is not None and (comp.how != "ours" or ctype != kind.value):
            carry["type"] = ctype
        extra = self.ours(c)
        rec: dict[str, Any] = {
            "id": comp.tg,
            "name": c["name"],
            "kind": kind.value,
            "boundary": boundary,
            "description": c.get("description") if isinstance(c.get("description"), str) else None,
            "location": self.loc(c),
        }
        if p is not None and p[0] == "component" and "provider" not in extra:
            up = nest.comps.get(p[1])
            if up is not None and up.kind is Kind.VENDOR and up.how != "container":
                rec["provider"] = up.tg
        a = c.get("assets")
        if isinstance(a, dict):
            rec["processes"] = self.data_refs(a, a.get("processed"), assets, "processed")
            rec["stores"] = self.data_refs(a, a.get("stored"), assets, "stored")
        elif a is not None:
            self.err(c, "'assets' must be an object with 'processed' and 'stored'", "assets")
        if tags:
            rec["tags"] = tags
        rec["controls"] = self.controls(c, extra)
        for key in ("id", "name", "kind", "description", "location", "boundary", "otm"):
            extra.pop(key, None)
        rec.update(extra)
        if carry:
            rec["otm"] = carry
        el: Element | None = self.validated(Element, rec, c, "components")
        return el

    # -- dataflows ----------------------------------------------------------------------
    def dataflow_ends(
        self,
        f: dict[str, Any],
        comps: dict[str, str],
        containers: dict[str, Boundary],
        rejected: set[str],
    ) -> tuple[list[str], bool]:
        """The element ids a dataflow joins, and whether it is skipped (an end is a network
        container or a rejected component); a bad end is reported."""
        ends: list[str] = []
        skip = False
        for key in ("source", "destination"):
            ref = f.get(key)
            if ref is None:
                self.err(f, f"dataflow has no '{key}'", key)
            elif not isinstance(ref, str):
                self.err(f, f"dataflow {key} must be a component id (a string)", key)
            elif ref in comps:
                ends.append(comps[ref])
            elif ref in containers:
                skip = True
            elif ref in rejected:
                skip = True  # the component's own problem was reported
            else:
                self.err(
                    f,
                    f"dataflow {key} {ref!r} is not a component{suggest(str(ref), comps)}",
                    key,
                )
        return ends, skip

    def dataflow(
        self,
        f: dict[str, Any],
        fid: str,
        name: str,
        ends: list[str],
        assets: dict[str, str],
        ids: _Ids,
    ) -> list[Flow]:
        """One dataflow's flow, and its reverse when it is bidirectional (none when invalid)."""
        out: list[Flow] = []
        tg = ids.of[fid]
        extra = self.ours(f)
        if extra.pop("unnamed", False):
            name = ""
        controls = self.controls(f, extra)
        for key in ("id", "name", "from", "to", "source", "target", "location", "otm"):
            extra.pop(key, None)
        carry = self.carry(f, fid, tg)
        raw_tags = f.get("tags")
        if isinstance(raw_tags, list) and any(isinstance(t, str) for t in raw_tags):
            carry["tags"] = [t for t in raw_tags if isinstance(t, str)]
        both = f.get("bidirectional") is True
        if both:
            carry["bidirectional"] = True
        rec: dict[str, Any] = {
            "id": tg,
            "name": name,
            "from": ends[0],
            "to": ends[1],
            "data": self.data_refs(f, f.get("assets"), assets, "assets"),
            "description": f.get("description") if isinstance(f.get("description"), str) else None,
            "controls": controls,
            "location": self.loc(f),
            **extra,
        }
        if carry:
            rec["otm"] = carry
        fl = self.validated(Flow, rec, f, "dataflows")
        if fl is None:
            return out
        out.append(fl)
        if both:
            back_id = ids.reserve(f"\0reverse\0{fid}", f"{tg}-reverse")
            back = self.validated(
                Flow,
                {**rec, "id": back_id, "from": ends[1], "to": ends[0], "otm": {"reverse_of": tg}},
                f,
                "dataflows",
            )
            if back is not None:
                out.append(back)
        return out

    def dataflows(
        self,
        comps: dict[str, str],
        containers: dict[str, Boundary],
        rejected: set[str],
        assets: dict[str, str],
    ) -> list[Flow]:
        out: list[Flow] = []
        ids = _Ids()
        seen: set[str] = set()
        kept_raw: list[Any] = []
        todo: list[tuple[dict[str, Any], str, str, list[str]]] = []
        for f in self.items("dataflows"):
            fid = self.text(f, "id", "dataflow")
            name = self.text(f, "name", "dataflow", required=False) or ""
            ends, skip = self.dataflow_ends(f, comps, containers, rejected)
            if fid is None:
                continue
            if fid in seen:
                self.err(f, f"duplicate dataflow id {fid!r}", "id")
                continue
            seen.add(fid)
            if skip:
                if not any(
                    isinstance(f.get(k), str) and f[k] in rejected
                    for k in ("source", "destination")
                ):
                    kept_raw.append(_plain(f))
                continue
            if len(ends) != 2:
                continue
            todo.append((f, fid, name, ends))
        # Ids in two passes: every dataflow's own id first, then the generated reverse ids,
        # so that a generated id never takes an id the file uses.
        for _f, fid, _name, _ends in todo:
            ids.add(fid)
        for f, fid, name, ends in todo:
            out.extend(self.dataflow(f, fid, name, ends, assets, ids))
        if kept_raw:
            self.project_carry["dataflows"] = kept_raw
            self.warnings.append(
                f"{len(kept_raw)} dataflow(s) start or end at a network container, which is a "
                "boundary here: not analysed, kept for export: "
                + ", ".join(repr(f.get("id")) for f in kept_raw)
            )
        return out


def _tags(c: dict[str, Any]) -> list[str]:
    """The component's tags that are strings."""
    raw = c.get("tags")
    return [t for t in raw if isinstance(t, str)] if isinstance(raw, list) else []


def _mark_containers(comps: dict[str, _Comp], flows: list[dict[str, Any]]) -> None:
    """A StartLeft "empty-component" with children and no dataflow of its own is a network
    container (it becomes a boundary)."""
    flow_ends = {
        f[k] for f in flows for k in ("source", "destination") if isinstance(f.get(k), str)
    }
    has_children = {
        comp.parent[1]
        for comp in comps.values()
        if comp.parent is not None and comp.parent[0] == "component"
    }
    for comp in comps.values():
        if comp.how == "empty" and comp.otm_id in has_children and comp.otm_id not in flow_ends:
            comp.how = "container"


class _Nesting:
    """Where a component sits: its nearest container or zone, and the trust it inherits."""

    def __init__(
        self,
        comps: dict[str, _Comp],
        zones: _Zones,
        ours: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> None:
        self.comps = comps
        self.zones = zones
        self.ours = ours

    def enclosing(self, comp: _Comp) -> tuple[str | None, str | None]:
        """(boundary id, zone otm id) of the nearest container or zone above ``comp``."""
        comps, zones = self.comps, self.zones
        cur = comp.parent
        seen = {comp.otm_id}
        while cur is not None and cur[0] == "component":
            if cur[1] in seen or cur[1] not in comps:
                return None, None
            seen.add(cur[1])
            up = comps[cur[1]]
            if up.how == "container":
                return up.tg, None
            cur = up.parent
        if cur is None:
            return None, None
        if cur[1] in zones.synthetic:
            return None, cur[1]
        return zones.ids.of.get(cur[1]), cur[1]

    def trust_of(self, comp: _Comp) -> Trust:
        """The trust of the nearest container that recorded one, else of the zone."""
        comps = self.comps
        cur = comp.parent
        seen = {comp.otm_id}
        while cur is not None and cur[0] == "component" and cur[1] in comps:
            up = comps[cur[1]]
            if cur[1] in seen:
                break
            seen.add(cur[1])
            fixed = self.ours(up.obj).get("trust")
            if (
                up.how == "container"
                and isinstance(fixed, str)
                and fixed in Trust.__members__.values()
            ):
                return Trust(fixed)
            cur = up.parent
        if cur is not None and cur[0] == "zone" and cur[1] in self.zones.trust:
            return self.zones.trust[cur[1]]
        return Trust.INTERNAL


class _TypeTally:
    """Component types read by a guess, and containers made boundaries: said once each."""

    def __init__(self) -> None:
        self.unknown: Counter[str] = Counter()
        self.empty = 0
        self.keyword: Counter[str] = Counter()
        self.containers: list[str] = []

    def count(self, how: str, ctype: str | None, kind: Kind) -> None:
        """One element whose type was read ``how``."""
        if how == "unknown":
            self.unknown[ctype or ""] += 1
        elif how == "empty":
            self.empty += 1
        elif how == "keyword":
            self.keyword[f"{ctype} as {kind.value}"] += 1

    def warnings(self) -> list[str]:
        """The warnings, in a fixed order."""
        out = []
        if self.unknown:
            out.append(
                f"{sum(self.unknown.values())} component(s) of unknown type were read as "
                f"'{otm_map.DEFAULT_KIND.value}': {_counts(self.unknown)}; map a type with "
                "--map-type TYPE=KIND or the config key otm_types (docs/interop.md)"
            )
        if self.empty:
            out.append(
                f"{self.empty} component(s) with no type or of type "
                f"'{otm_map.EMPTY_COMPONENT}' were read as '{otm_map.DEFAULT_KIND.value}'"
            )
        if self.keyword:
            out.append(
                f"{sum(self.keyword.values())} component type(s) were read by their words: "
                f"{_counts(self.keyword)}; check them, or map them with --map-type TYPE=KIND"
            )
        if self.containers:
            out.append(
                f"{len(self.containers)} network container(s) became boundaries with the trust "
                "of their zone: " + ", ".join(repr(n) for n in sorted(self.containers))
            )
        return out


@dataclass
class _Zones:
    """The trust zones read so far."""

    boundaries: list[Boundary] = field(default_factory=list)
    ids: _Ids = field(default_factory=_Ids)
    #: our export's stand-in zones (otm id -> their trust)
    synthetic: dict[str, Trust | None] = field(default_factory=dict)
    #: zones reported as wrong (references to them are not reported again)
    rejected: set[str] = field(default_factory=set)
    #: otm zone id -> trust
    trust: dict[str, Trust] = field(default_factory=dict)


__all__ = ["SUFFIXES", "OtmImport", "load", "looks_like_model", "parse", "read_document"]
