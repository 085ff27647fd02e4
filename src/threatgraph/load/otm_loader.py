"""Open Threat Model (OTM 0.2.0) JSON files as threatgraph models. No code runs.

Trust zones become boundaries (trust from ``x-threatgraph.trust`` or the trustRating),
components become elements (kind from ``x-threatgraph.kind``, a threatgraph kind in ``type``,
or the alias table in :mod:`threatgraph.interop.otm_map`), dataflows become flows (a
bidirectional dataflow becomes two), assets become data. OTM threats and mitigations are not
imported as such: threatgraph derives its own from the library. Mitigations marked
``implemented`` whose id is a catalogue control become declared controls.

Every problem (bad JSON, unknown component type, dangling reference...) is reported with the
file and line of the offending object, exit code 2.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from threatgraph.errors import InputError, Problem
from threatgraph.interop import otm_map
from threatgraph.load.yamlsafe import LineDict, parse_json, parse_text, read_text
from threatgraph.model.schema import (
    Boundary,
    DataAsset,
    Decision,
    Element,
    Flow,
    Kind,
    Location,
    ModelInfo,
    SystemModel,
    slugify,
    valid_id,
)
from threatgraph.model.validate import suggest

SUFFIXES = (".json", ".otm")


def looks_like_model(path: Path, head: str) -> bool:
    """Static check for directory searches: a JSON object with an ``otmVersion`` key."""
    del path
    return '"otmVersion"' in head


def read_document(path: Path) -> Any:
    """Parse an OTM file as JSON, keeping line numbers (LineDict/LineList).

    The JSON reader checks the text (syntax, duplicate keys, nesting depth, each with its
    line); the YAML reader then adds the lines of scalar list items where it can.
    """
    file = str(path)
    text = read_text(path)
    doc = parse_json(text, file)
    try:
        return parse_text(text, file)
    except InputError:
        return doc  # valid JSON that the YAML reader refuses: container lines only


@functools.lru_cache(maxsize=1)
def _catalogue() -> frozenset[str]:
    """Control ids of the built-in catalogue (to recognise implemented OTM mitigations)."""
    from threatgraph.engine.library import builtin_root
    from threatgraph.load.yamlsafe import load_document

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
    """The source-format entry point: one model per OTM file."""
    return [parse(path).model]


def parse(path: Path, type_map: dict[str, Kind] | None = None) -> OtmImport:
    """Convert an OTM file; ``type_map`` adds component type -> kind entries."""
    return _Reader(str(path), read_document(path), type_map or {}).run()


def _line(obj: Any, key: str | None = None) -> int:
    if isinstance(obj, LineDict):
        if key is not None and key in obj.key_lines:
            return obj.key_lines[key]
        return obj.line
    return 0


class _Ids:
    """OTM ids -> threatgraph ids (kept when valid, else slugified), unique per namespace."""

    def __init__(self) -> None:
        self.of: dict[str, str] = {}
        self.used: set[str] = set()

    def add(self, otm_id: str) -> str:
        tg = otm_id if valid_id(otm_id) else slugify(otm_id)
        base, n = tg, 2
        while tg in self.used:
            tg, n = f"{base}-{n}", n + 1
        self.used.add(tg)
        self.of[otm_id] = tg
        return tg


class _Reader:
    def __init__(self, file: str, doc: Any, type_map: dict[str, Kind]) -> None:
        self.file = file
        self.doc = doc
        self.type_map = type_map
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    # -- helpers ------------------------------------------------------------------------
    def err(self, obj: Any, message: str, key: str | None = None, where: str | None = None) -> None:
        self.problems.append(Problem(self.file, _line(obj, key), message, where or key))

    def loc(self, obj: Any) -> Location:
        return Location(file=self.file, line=_line(obj) or 1)

    def items(self, key: str) -> list[dict[str, Any]]:
        value = self.doc.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.err(self.doc, f"'{key}' must be a list", key)
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                out.append(item)
            else:
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
        the implemented mitigations of a foreign OTM file that name catalogue controls."""
        attrs = obj.get("attributes")
        if isinstance(attrs, dict) and otm_map.ATTR in attrs:
            controls = extra.pop("controls", None) or []
            # A single value becomes a one-item list: the schema then checks the item.
            return list(controls) if isinstance(controls, list) else [controls]
        return list(self.implemented(obj))

    def implemented(self, obj: dict[str, Any]) -> list[str]:
        """Catalogue controls among the mitigations an OTM object marks as implemented."""
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
                    and m["mitigation"] in _catalogue()
                    and m["mitigation"] not in out
                ):
                    out.append(m["mitigation"])
        return out

    # -- the document -------------------------------------------------------------------
    def run(self) -> OtmImport:
        doc = self.doc
        if not isinstance(doc, dict):
            raise InputError.single(self.file, 1, "an OTM file must be a JSON object")
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
        boundaries, zones, synthetic = self.zones()
        data, assets = self.assets()
        elements, comps = self.components(zones, synthetic, assets)
        flows = self.dataflows(comps, assets)
        n_threats = len(self.items("threats"))
        n_mitigations = len(self.items("mitigations"))
        if n_threats or n_mitigations:
            self.warnings.append(
                f"{n_threats} threat(s) and {n_mitigations} mitigation(s) in the OTM file are not "
                "imported: threatgraph derives threats from its library (implemented mitigations "
                "that name catalogue controls were kept as declared controls)"
            )
        if self.problems:
            raise InputError(self.problems)
        decisions = self.decisions(project)
        if self.problems:
            raise InputError(self.problems)
        model = SystemModel(
            model=info,
            boundaries=boundaries,
            data=data,
            elements=elements,
            flows=flows,
            decisions=decisions,
        )
        model.location = self.loc(doc)
        return OtmImport(model, self.warnings)

    def project(self, project: dict[str, Any]) -> ModelInfo:
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
        for key in ("version", "controls"):
            if key in extra:
                rec[key] = extra[key]
        info = self.validated(ModelInfo, rec, project, "project")
        return info if info is not None else ModelInfo(name=name)

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

    def zones(self) -> tuple[list[Boundary], dict[str, str], set[str]]:
        ids = _Ids()
        raw: list[tuple[dict[str, Any], str, str]] = []
        synthetic: set[str] = set()
        for z in self.items("trustZones"):
            zid = self.text(z, "id", "trust zone")
            name = self.text(z, "name", "trust zone")
            if zid is None or name is None:
                continue
            if zid in ids.of or zid in synthetic:
                self.err(z, f"duplicate trust zone id {zid!r}", "id")
                continue
            if self.ours(z).get("synthetic") is True:
                synthetic.add(zid)  # our export's stand-in for "outside every boundary"
                continue
            raw.append((z, zid, ids.add(zid)))
        out = []
        for z, _zid, tg in raw:
            extra = self.ours(z)
            trust = extra.get("trust")
            if trust is None:
                risk = z.get("risk")
                rating = risk.get("trustRating") if isinstance(risk, dict) else None
                if isinstance(rating, (int, float)) and not isinstance(rating, bool):
                    trust = otm_map.trust_of_rating(rating).value
                else:
                    self.err(z, "trust zone has no numeric risk.trustRating", "risk")
                    continue
            parent = None
            p = z.get("parent")
            if isinstance(p, dict) and p.get("trustZone") is not None:
                pz = p["trustZone"]
                if not isinstance(pz, str):
                    self.err(z, "parent.trustZone must be a trust zone id (a string)", "parent")
                elif pz in ids.of:
                    parent = ids.of[pz]
                elif pz not in synthetic:
                    self.err(
                        z,
                        f"parent trust zone {pz!r} does not exist{suggest(str(pz), ids.of)}",
                        "parent",
                    )
            elif isinstance(p, dict) and p.get("component") is not None:
                self.warnings.append(
                    f"trust zone {z.get('name')!r} sits in component {p['component']!r}: "
                    "threatgraph boundaries nest only in boundaries; the parent was dropped"
                )
            rec = {
                "id": tg,
                "name": z["name"],
                "trust": trust,
                "parent": parent,
                "description": z.get("description")
                if isinstance(z.get("description"), str)
                else None,
                "location": self.loc(z),
            }
            b = self.validated(Boundary, rec, z, "trustZones")
            if b is not None:
                out.append(b)
        return out, ids.of, synthetic

    def assets(self) -> tuple[list[DataAsset], dict[str, str]]:
        ids = _Ids()
        out = []
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
            if cls is None:
                risk = a.get("risk")
                conf = risk.get("confidentiality") if isinstance(risk, dict) else None
                if isinstance(conf, (int, float)) and not isinstance(conf, bool):
                    cls = otm_map.classification_of_confidentiality(conf).value
                else:
                    self.err(a, "asset has no numeric risk.confidentiality", "risk")
                    continue
            rec = {
                "id": tg,
                "name": name,
                "classification": cls,
                "description": a.get("description")
                if isinstance(a.get("description"), str)
                else None,
                "location": self.loc(a),
            }
            d = self.validated(DataAsset, rec, a, "assets")
            if d is not None:
                out.append(d)
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

    def components(
        self, zones: dict[str, str], synthetic: set[str], assets: dict[str, str]
    ) -> tuple[list[Element], dict[str, str]]:
        ids = _Ids()
        comps: list[tuple[dict[str, Any], str, str, Kind]] = []
        for c in self.items("components"):
            cid = self.text(c, "id", "component")
            name = self.text(c, "name", "component")
            ctype = self.text(c, "type", "component")
            if cid is None or name is None:
                continue
            if cid in ids.of:
                self.err(c, f"duplicate component id {cid!r}", "id")
                continue
            extra = self.ours(c)
            kind: Kind | None = None
            if extra.get("kind") is not None:
                try:
                    kind = Kind(extra["kind"])
                except ValueError:
                    self.err(c, f"unknown kind {extra['kind']!r}", "attributes", "kind")
                    continue
            elif ctype is not None:
                kind = otm_map.kind_of_type(ctype, self.type_map)
                if kind is None:
                    known = [k.value for k in Kind] + sorted(otm_map.TYPE_ALIASES)
                    self.err(
                        c,
                        f"unknown component type {ctype!r}"
                        f"{suggest(otm_map.normalise_type(ctype), known)}; "
                        "use a threatgraph kind, an alias from docs/interop.md, "
                        "`threatgraph import otm --map-type TYPE=KIND`, or "
                        f'attributes {{"{otm_map.ATTR}": {{"kind": "..."}}}}',
                        "type",
                    )
                    continue
            if kind is None:
                continue
            comps.append((c, cid, ids.add(cid), kind))
        parent_of: dict[str, tuple[str, str]] = {}  # component otm id -> ("zone"|"component", id)
        kinds = {cid: kind for _c, cid, _tg, kind in comps}
        for c, cid, _tg, _kind in comps:
            p = c.get("parent")
            if not isinstance(p, dict) or (
                p.get("trustZone") is None and p.get("component") is None
            ):
                self.err(c, "component has no parent (trustZone or component)", "parent")
                continue
            if p.get("trustZone") is not None:
                pz = p["trustZone"]
                if not isinstance(pz, str):
                    self.err(c, "parent.trustZone must be a trust zone id (a string)", "parent")
                elif pz in zones or pz in synthetic:
                    parent_of[cid] = ("zone", pz)
                else:
                    self.err(
                        c,
                        f"parent trust zone {pz!r} does not exist{suggest(str(pz), zones)}",
                        "parent",
                    )
            else:
                pc = p["component"]
                if not isinstance(pc, str):
                    self.err(c, "parent.component must be a component id (a string)", "parent")
                elif pc in kinds:
                    parent_of[cid] = ("component", pc)
                else:
                    self.err(
                        c,
                        f"parent component {pc!r} does not exist{suggest(str(pc), kinds)}",
                        "parent",
                    )

        def zone_of(cid: str) -> str | None:
            seen = {cid}
            cur = parent_of.get(cid)
            while cur is not None and cur[0] == "component":
                if cur[1] in seen:
                    return None
                seen.add(cur[1])
                cur = parent_of.get(cur[1])
            if cur is None or cur[1] in synthetic:
                return None
            return zones.get(cur[1])

        out = []
        for c, cid, tg, kind in comps:
            extra = self.ours(c)
            rec: dict[str, Any] = {
                "id": tg,
                "name": c["name"],
                "kind": kind.value,
                "boundary": zone_of(cid),
                "description": c.get("description")
                if isinstance(c.get("description"), str)
                else None,
                "location": self.loc(c),
            }
            seen = {cid}
            cur = parent_of.get(cid)
            cycle = False
            while cur is not None and cur[0] == "component":
                if cur[1] in seen:
                    cycle = True
                    break
                seen.add(cur[1])
                cur = parent_of.get(cur[1])
            if cycle:
                self.err(c, f"component {cid!r} is part of a parent cycle", "parent")
                continue
            p = parent_of.get(cid)
            if p is not None and p[0] == "component" and "provider" not in extra:
                if kinds[p[1]] is Kind.VENDOR:
                    rec["provider"] = ids.of[p[1]]
                else:
                    rec["tags"] = [f"otm-parent:{ids.of[p[1]]}"]
            a = c.get("assets")
            if isinstance(a, dict):
                rec["processes"] = self.data_refs(a, a.get("processed"), assets, "processed")
                rec["stores"] = self.data_refs(a, a.get("stored"), assets, "stored")
            elif a is not None:
                self.err(c, "'assets' must be an object with 'processed' and 'stored'", "assets")
            raw_tags = c.get("tags")
            tags = [t for t in raw_tags if isinstance(t, str)] if isinstance(raw_tags, list) else []
            if tags:
                rec["tags"] = [*rec.get("tags", []), *tags]
            controls = self.controls(c, extra)
            rec["controls"] = controls
            for key in ("id", "name", "kind", "description", "location", "boundary"):
                extra.pop(key, None)
            rec.update(extra)
            el = self.validated(Element, rec, c, "components")
            if el is not None:
                out.append(el)
        return out, ids.of

    def dataflows(self, comps: dict[str, str], assets: dict[str, str]) -> list[Flow]:
        out = []
        seen: set[str] = set()
        for f in self.items("dataflows"):
            fid = self.text(f, "id", "dataflow")
            name = self.text(f, "name", "dataflow", required=False) or ""
            ends = []
            for key in ("source", "destination"):
                ref = f.get(key)
                if ref is None:
                    self.err(f, f"dataflow has no '{key}'", key)
                elif not isinstance(ref, str):
                    self.err(f, f"dataflow {key} must be a component id (a string)", key)
                elif ref not in comps:
                    self.err(
                        f,
                        f"dataflow {key} {ref!r} is not a component{suggest(str(ref), comps)}",
                        key,
                    )
                else:
                    ends.append(comps[ref])
            if fid is None or len(ends) != 2:
                continue
            if fid in seen:
                self.err(f, f"duplicate dataflow id {fid!r}", "id")
                continue
            seen.add(fid)
            extra = self.ours(f)
            if extra.pop("unnamed", False):
                name = ""
            controls = self.controls(f, extra)
            for key in ("id", "name", "from", "to", "source", "target", "location"):
                extra.pop(key, None)
            tg = fid if valid_id(fid) else slugify(fid)
            rec: dict[str, Any] = {
                "id": tg,
                "name": name,
                "from": ends[0],
                "to": ends[1],
                "data": self.data_refs(f, f.get("assets"), assets, "assets"),
                "description": f.get("description")
                if isinstance(f.get("description"), str)
                else None,
                "controls": controls,
                "location": self.loc(f),
                **extra,
            }
            fl = self.validated(Flow, rec, f, "dataflows")
            if fl is None:
                continue
            out.append(fl)
            if f.get("bidirectional") is True:
                back = self.validated(
                    Flow,
                    {**rec, "id": f"{tg}-reverse", "from": ends[1], "to": ends[0]},
                    f,
                    "dataflows",
                )
                if back is not None:
                    out.append(back)
        return out


__all__ = ["SUFFIXES", "OtmImport", "load", "looks_like_model", "parse", "read_document"]
