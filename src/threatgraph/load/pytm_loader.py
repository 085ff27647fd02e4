"""pytm models: run an existing pytm ``tm.py`` and convert its objects to a SystemModel.

The file is executed (it is code the user named, or a file found because it imports pytm)
with pytm's global state isolated: pytm keeps every element, flow and threat in class-level
lists on ``TM``, so the loader swaps in a fresh state before the file runs and puts the
previous one back afterwards. While the file runs, ``sys.argv`` holds only the file name,
``TM.process()``, ``TM.resolve()`` and ``TM.report()`` do nothing (they would parse argv,
print and exit), and anything the file prints goes to stderr so that JSON on stdout stays
clean. Each pytm object's location is the line of the model file that constructed it.

The mapping tables (kinds, classifications, control flags, boundary trust) live in
:mod:`threatgraph.load.pytm_map` and are documented in docs/migrating-from-pytm.md.
"""

from __future__ import annotations

import ast
import contextlib
import random
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any

from pydantic import ValidationError

from threatgraph.load import pytm_map
from threatgraph.load.python import compile_model, imports_module, model_time_limit, traceback_line
from threatgraph.load.registry import Converted
from threatgraph.model.schema import (
    Boundary,
    Classification,
    DataAsset,
    Element,
    Flow,
    Kind,
    Location,
    ModelInfo,
    SystemModel,
    slugify,
)
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.safetext import LONE_SURROGATE, lone_surrogate_in

#: pytm's state is process-global: one load or engine run at a time.
LOCK = threading.RLock()


@dataclass
class PytmSource:
    """pytm objects behind a SystemModel, for running pytm's own engine on them later.

    A loaded pytm model carries its source on its :class:`~threatgraph.load.registry.
    LoadedModel` (``pytm``), so it lives as long as the model and no table outside it is
    needed. ``targets`` maps ``id(pytm object)`` to the threatgraph Element or Flow it became
    (their ``id`` is read after validation assigns it). ``objects`` keeps the pytm objects
    alive so that those ``id()`` keys stay valid. ``fixups`` are attribute values to put back
    after pytm's ``check()`` overwrote them (rebuilt models only; see pytm_threats).
    """

    tm: Any
    state: Any
    targets: dict[int, Element | Flow]
    objects: list[Any]
    original: bool
    fixups: list[tuple[Any, dict[str, Any], dict[str, Any]]] = field(default_factory=list)


#: ``import pytm`` / ``from pytm import ...`` at the start of a line: how a pytm file that
#: cannot be parsed (a syntax error, or too big to read whole) is still recognised.
PYTM_IMPORT_RE = re.compile(r"^\s*(from\s+pytm[\w.]*\s+import\b|import\s+pytm\b)", re.M)


def looks_like_model(path: Path, head: str) -> bool:
    """Static check for directory searches: the file imports pytm and not threatgraph.

    A file that does not parse but has a pytm import line is claimed, so that the loader
    reports it: a broken model must fail the check, not vanish from the search.
    """
    del path
    if "pytm" not in head:
        return False
    try:
        tree = ast.parse(head)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return PYTM_IMPORT_RE.search(head) is not None
    return imports_module(tree, "pytm") and not imports_module(tree, "threatgraph")


@contextlib.contextmanager
def pytm_state(state: Any = None) -> Iterator[Any]:
    """Run with pytm's global state set to ``state`` (a fresh one when None).

    The previous state and Python's ``random`` state (``TM()`` reseeds it) are restored on
    exit, so loading a pytm model leaves no trace in the process.
    """
    from pytm import TM

    with LOCK:
        previous = TM._state
        rnd = random.getstate()
        if state is None:
            TM.reset()
        else:
            TM._state = state
        try:
            yield TM._state
        finally:
            TM._state = previous
            random.setstate(rnd)


@contextlib.contextmanager
def _patched(patches: list[tuple[type, str, Any]]) -> Iterator[None]:
    saved = [(cls, name, cls.__dict__.get(name)) for cls, name, _ in patches]
    try:
        for cls, name, value in patches:
            setattr(cls, name, value)
        yield
    finally:
        for cls, name, old in reversed(saved):
            if old is None:
                delattr(cls, name)
            else:
                setattr(cls, name, old)


#: Where a constructor was called in the model file: the code object running there and the
#: offset of the instruction (``frame.f_lasti``); None when no frame of the file is on the stack.
Site = tuple[CodeType, int] | None


def _recorder(file: str, sites: dict[int, Site], made: list[Any]) -> Callable[[Any], Any]:
    """Wrap a constructor so each object remembers where in the model file it was built.

    Only the code object and instruction offset are kept. Reading ``frame.f_lineno`` here
    would scan the code's line table from its start on every object, and a model file is
    mostly one long module-level code object: loading grew with the square of its size
    (5,000 elements took 10 s). :func:`_lines` turns all offsets into lines in one pass.
    """

    def wrap(original: Any) -> Any:
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            if id(self) in sites:  # a pytm __init__ that calls another wrapped one
                return
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename != file:
                frame = frame.f_back  # type: ignore[assignment]
            sites[id(self)] = (frame.f_code, frame.f_lasti) if frame is not None else None
            made.append(self)

        return init

    return wrap


def _code_lines(code: CodeType) -> Iterator[tuple[int, int, int | None]]:
    """One scan of a code object's line table (a function of its own so tests can count)."""
    return code.co_lines()


def _lines(sites: Iterable[tuple[int, Site]]) -> dict[int, int]:
    """Object key -> line, from where each object was built, scanning each code object's
    line table once (offsets sorted, then merged with the table's ascending ranges)."""
    # Keyed by id(): hashing a code object hashes its whole bytecode and constants, which
    # for a model file's module code would make this quadratic again.
    by_code: dict[int, tuple[CodeType, list[tuple[int, int]]]] = {}
    out: dict[int, int] = {}
    for key, site in sites:
        if site is None:
            out[key] = 0
        else:
            by_code.setdefault(id(site[0]), (site[0], []))[1].append((site[1], key))
    for code, wanted in by_code.values():
        wanted.sort()
        i = 0
        for start, end, line in _code_lines(code):
            while i < len(wanted) and wanted[i][0] < start:  # in no range: no line
                out[wanted[i][1]] = 0
                i += 1
            while i < len(wanted) and wanted[i][0] < end:
                out[wanted[i][1]] = line or 0
                i += 1
        for _, key in wanted[i:]:
            out[key] = 0
    return out


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def load(path: Path) -> list[Converted]:
    """Execute a pytm model file and convert its threat model to a SystemModel, returned with
    the pytm objects it came from (for ``--pytm-threats``)."""
    import pytm

    file = str(path)
    code = compile_model(path)
    sites: dict[int, Site] = {}
    made: list[Any] = []
    wrap = _recorder(file, sites, made)

    def quiet(self: Any, *args: Any, **kwargs: Any) -> None:
        """Stands in for TM.process()/resolve() while the file runs."""

    def no_report(self: Any, *args: Any, **kwargs: Any) -> str:
        return ""

    tm_cls = pytm.TM
    patches: list[tuple[type, str, Any]] = [
        (pytm.Element, "__init__", wrap(pytm.Element.__init__)),
        (pytm.Data, "__init__", wrap(pytm.Data.__init__)),
        (tm_cls, "__init__", wrap(tm_cls.__init__)),
        (tm_cls, "process", quiet),
        (tm_cls, "resolve", quiet),
        (tm_cls, "report", no_report),
    ]
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__file__": file,
        "__builtins__": __builtins__,
    }
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    with pytm_state():
        sys.argv = [file]
        sys.path.insert(0, str(path.parent))
        try:
            with (
                _patched(patches),
                contextlib.redirect_stdout(sys.stderr),
                model_time_limit(file),
            ):
                exec(code, namespace)  # noqa: S102 - running the model file the user named
        except InputError:  # the time limit's, already with the file and line
            raise
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise InputError.single(
                    file, traceback_line(exc, file), f"model file called exit({exc.code!r})"
                ) from None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise InputError.single(
                file,
                traceback_line(exc, file),
                f"pytm model raised {type(exc).__name__}: {_one_line(exc)}",
            ) from None
        finally:
            sys.argv, sys.path = saved_argv, saved_path
        state = tm_cls._state  # the file may have called TM.reset() itself
        lines = _lines(sites.items())
        tms = [o for o in made if isinstance(o, tm_cls)]
        if not tms:
            raise InputError.single(file, 1, "the file builds no pytm TM (threat model)")
        if len(tms) > 1:
            raise InputError.single(
                file,
                lines.get(id(tms[1]), 0),
                f"the file builds {len(tms)} pytm TM objects; pytm keeps one model per process",
            )
        model, targets = _Converter(file, lines).convert(tms[0], state)
    return [Converted(model, PytmSource(tms[0], state, targets, made, original=True))]


class _Ids:
    """Deterministic ids from names: slug, then slug-2, slug-3... avoiding explicit ids."""

    def __init__(self, reserved: set[str]) -> None:
        self.used = set(reserved)

    def take(self, name: str) -> str:
        base = slugify(name)
        candidate, n = base, 2
        while candidate in self.used:
            candidate, n = f"{base}-{n}", n + 1
        self.used.add(candidate)
        return candidate


@dataclass
class _Sources:
    """pytm's objects of one model, by type, in registration order."""

    boundaries: list[Any]
    elements: list[Any]
    flows: list[Any]
    data: list[Any]


def _sources(state: Any) -> _Sources:
    """The boundaries, elements, flows and data pytm registered, with boundaries and data
    that are only referenced (defensive: pytm registers all)."""
    import pytm

    boundaries_src = [b for b in state.boundaries if isinstance(b, pytm.Boundary)]
    flows_src = [f for f in state.flows if isinstance(f, pytm.Dataflow)]
    elements_src = [
        e
        for e in state.elements
        if isinstance(e, pytm.Element) and not isinstance(e, (pytm.Boundary, pytm.Dataflow))
    ]
    # Boundaries referenced but not registered (defensive: pytm registers all).
    known = {id(b) for b in boundaries_src}
    for e in [*elements_src, *boundaries_src]:
        parent = e.inBoundary
        while parent is not None and id(parent) not in known:
            known.add(id(parent))
            boundaries_src.append(parent)
            parent = parent.inBoundary
    data_src: list[Any] = []
    seen_data: set[int] = set()
    for d in [
        *state.data,
        *(d for f in flows_src for d in f.data),
        *(d for e in elements_src for d in getattr(e, "data", ())),
    ]:
        if isinstance(d, pytm.Data) and id(d) not in seen_data:
            seen_data.add(id(d))
            data_src.append(d)
    return _Sources(boundaries_src, elements_src, flows_src, data_src)


def _explicit(objs: list[Any], ov: dict[int, dict[str, Any]]) -> set[str]:
    """Ids given explicitly (``threatgraph.id``) to ``objs``."""
    return {str(ov[id(o)]["id"]) for o in objs if ov[id(o)].get("id")}


class _Converter:
    """pytm objects -> threatgraph records, collecting every problem with its line."""

    def __init__(self, file: str, lines: dict[int, int]) -> None:
        self.file = file
        self.lines = lines
        self.problems: list[Problem] = []
        self.data_order: dict[int, int] = {}  # id(pytm Data) -> declaration index
        self.data_by_id: dict[str, DataAsset] = {}  # the data assets made so far, by id

    def loc(self, obj: Any) -> Location:
        return Location(file=self.file, line=self.lines.get(id(obj), 0))

    def overrides(self, obj: Any) -> dict[str, Any]:
        """The optional ``threatgraph={...}`` keyword on a pytm object (pytm keeps extras)."""
        extra = getattr(obj, "__pydantic_extra__", None) or {}
        value = extra.get("threatgraph")
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problems.append(
                Problem(
                    self.file,
                    self.lines.get(id(obj), 0),
                    "threatgraph= on a pytm object must be a dict of threatgraph fields",
                    "threatgraph",
                )
            )
            return {}
        return dict(value)

    def validated(self, cls: type[Any], rec: dict[str, Any], obj: Any) -> Any:
        bad = lone_surrogate_in({k: v for k, v in rec.items() if k != "location"})
        if bad is not None:  # pytm objects can hold any str; no report could write this one
            self.problems.append(
                Problem(self.file, self.lines.get(id(obj), 0), LONE_SURROGATE, bad or None)
            )
            return None
        try:
            return cls.model_validate(rec)
        except ValidationError as exc:
            for e in exc.errors():
                where = ".".join(str(p) for p in e["loc"])
                msg = "unknown field (typo?)" if e["type"] == "extra_forbidden" else e["msg"]
                self.problems.append(
                    Problem(self.file, self.lines.get(id(obj), 0), msg, where or None)
                )
            return None

    def convert(self, tm: Any, state: Any) -> tuple[SystemModel, dict[int, Element | Flow]]:
        """The model from pytm's registered objects, and pytm object id -> what it became."""
        src = _sources(state)
        ov: dict[int, dict[str, Any]] = {
            id(o): self.overrides(o)
            for o in [*src.boundaries, *src.elements, *src.flows, *src.data]
        }
        boundaries, bid = self.convert_boundaries(src.boundaries, ov)
        data, did = self.convert_data(src.data, ov)

        # Elements.
        e_ids = _Ids(_explicit(src.elements, ov))
        eid: dict[int, str] = {}
        for e in src.elements:
            eid[id(e)] = str(ov[id(e)].get("id") or e_ids.take(e.name))
        elements: list[Element] = []
        targets: dict[int, Element | Flow] = {}
        for e in src.elements:
            item = self.element(e, ov[id(e)], eid[id(e)], bid, did, data)
            if item is not None:
                elements.append(item)
                targets[id(e)] = item

        # Flows.
        flows: list[Flow] = []
        for f in src.flows:
            fl = self.flow(f, ov[id(f)], eid, did)
            if fl is not None:
                flows.append(fl)
                targets[id(f)] = fl

        info = self.model_info(tm)
        if self.problems:
            raise InputError(self.problems)
        assert info is not None  # validated() records a problem whenever it gives None
        model = SystemModel(
            model=info,
            boundaries=boundaries,
            data=data,
            elements=elements,
            flows=flows,
        )
        model.location = self.loc(tm)
        return model, targets

    def convert_boundaries(
        self, boundaries_src: list[Any], ov: dict[int, dict[str, Any]]
    ) -> tuple[list[Boundary], dict[int, str]]:
        """The boundaries, and pytm object id -> boundary id."""
        b_ids = _Ids(_explicit(boundaries_src, ov))
        bid: dict[int, str] = {}
        for b in boundaries_src:
            bid[id(b)] = str(ov[id(b)].get("id") or b_ids.take(b.name))
        boundaries: list[Boundary] = []
        for b in boundaries_src:
            o = ov[id(b)]
            rec: dict[str, Any] = {
                "id": bid[id(b)],
                "name": b.name,
                "trust": o.get("trust") or pytm_map.guess_trust(b.name).value,
                "parent": bid.get(id(b.inBoundary)) if b.inBoundary is not None else None,
                "description": o.get("description") or b.description or None,
                "location": self.loc(b),
            }
            rec.update({k: v for k, v in o.items() if k not in rec})
            item = self.validated(Boundary, rec, b)
            if item is not None:
                boundaries.append(item)
        return boundaries, bid

    def convert_data(
        self, data_src: list[Any], ov: dict[int, dict[str, Any]]
    ) -> tuple[list[DataAsset], dict[int, str]]:
        """The data assets, and pytm object id -> data id."""
        d_ids = _Ids(_explicit(data_src, ov))
        did: dict[int, str] = {}
        data: list[DataAsset] = []
        # Declaration order of the data, made once: ordered() reads it for every element
        # and flow.
        self.data_order = {id(d): i for i, d in enumerate(data_src)}
        for d in data_src:
            o = ov[id(d)]
            name = d.name
            if name == "undefined" and d.description:
                name = d.description  # pytm's legacy `flow.data = "text"`
            did[id(d)] = str(o.get("id") or d_ids.take(name))
            rec = {
                "id": did[id(d)],
                "name": name,
                "classification": o.get("classification") or _classification(d).value,
                "description": (d.description if d.description != name else None) or None,
                "location": self.loc(d),
            }
            rec.update({k: v for k, v in o.items() if k not in rec})
            item = self.validated(DataAsset, rec, d)
            if item is not None:
                data.append(item)
                self.data_by_id.setdefault(item.id, item)
        return data, did

    def model_info(self, tm: Any) -> ModelInfo | None:
        """The model's name and description (with pytm's assumptions)."""
        description = tm.description or None
        assumptions = [a.name for a in getattr(tm, "assumptions", []) if getattr(a, "name", "")]
        if assumptions:
            description = ((description or "") + " Assumptions: " + "; ".join(assumptions)).strip()
        tm_ov = self.overrides(tm)
        info: ModelInfo | None = self.validated(
            ModelInfo,
            {"name": tm.name or Path(self.file).stem, "description": description, **tm_ov},
            tm,
        )
        return info

    def element(
        self,
        e: Any,
        o: dict[str, Any],
        element_id: str,
        bid: dict[int, str],
        did: dict[int, str],
        data: list[DataAsset],
    ) -> Element | None:
        kind = _kind_of(e)
        if o.get("kind") is not None:
            try:
                kind = Kind(o["kind"])
            except ValueError:
                self.problems.append(
                    Problem(
                        self.file,
                        self.lines.get(id(e), 0),
                        f"unknown kind {o['kind']!r}; kinds: " + ", ".join(k.value for k in Kind),
                        "threatgraph.kind",
                    )
                )
                return None
        cls_name = _pytm_class(e)
        controls = pytm_map.controls_for_flags(
            {k: v for k, v in e.controls.model_dump().items() if k not in pytm_map.FLOW_ONLY_FLAGS}
        )
        for attr, ctls in pytm_map.CONTROL_OF_ATTRIBUTE.get(cls_name, {}).items():
            if getattr(e, attr, False) is True:
                controls.extend(c for c in ctls if c not in controls)
        for c in o.get("controls", []) or []:
            if c not in controls:
                controls.append(c)
        own = self.ordered(getattr(e, "data", ()), did)
        stores: list[str] = []
        processes: list[str] = []
        (stores if kind is Kind.DATASTORE else processes).extend(own)
        if cls_name == "Datastore":
            # pytm records what a store holds as flags; give them data threatgraph can see.
            held_data = [self.data_by_id[d] for d in stores if d in self.data_by_id]
            held = {d.classification for d in held_data}
            if e.storesPII and not held & {Classification.PII, Classification.PHI}:
                stores.append(self.synthetic(data, element_id, "pii", e, "Personal data"))
            if e.storesSensitiveData and not any(d.sensitive for d in held_data):
                stores.append(self.synthetic(data, element_id, "confidential", e, "Sensitive data"))
        rec: dict[str, Any] = {
            "id": element_id,
            "name": e.name,
            "kind": kind.value,
            "boundary": bid.get(id(e.inBoundary)) if e.inBoundary is not None else None,
            "description": e.description or None,
            "controls": controls,
            "stores": stores,
            "processes": processes,
            "code": list(e.sourceFiles),
            "tags": [] if e.inScope else ["pytm:out-of-scope"],
            "location": self.loc(e),
        }
        if cls_name == "LLM":
            if e.isSelfHosted:
                rec["source"] = "internal"
            elif e.isThirdParty:
                rec["source"] = "vendor"
            if e.executesCode:
                rec["capabilities"] = ["execute_code"]
        rec.update({k: v for k, v in o.items() if k not in ("id", "kind", "controls")})
        return self.validated(Element, rec, e)  # type: ignore[no-any-return]

    def ordered(self, items: Any, did: dict[int, str]) -> list[str]:
        """Data ids in declaration order (pytm keeps data in sets, whose order varies)."""
        order = self.data_order
        return [
            did[k] for k in sorted((id(d) for d in items if id(d) in did), key=lambda k: order[k])
        ]

    def synthetic(self, data: list[DataAsset], element_id: str, cls: str, e: Any, what: str) -> str:
        data_id = f"{element_id}-{cls}"
        if data_id not in self.data_by_id:
            asset = DataAsset(
                id=data_id,
                name=f"{what} in {e.name}",
                classification=Classification(cls),
                description="From the pytm flag "
                + ("storesPII" if cls == "pii" else "storesSensitiveData"),
                location=self.loc(e),
            )
            data.append(asset)
            self.data_by_id[data_id] = asset
        return data_id

    def flow(
        self, f: Any, o: dict[str, Any], eid: dict[int, str], did: dict[int, str]
    ) -> Flow | None:
        import pytm
        from pytm import TLSVersion

        line = self.lines.get(id(f), 0)
        ends = []
        for end, what in ((f.source, "source"), (f.sink, "sink")):
            if id(end) not in eid:
                self.problems.append(
                    Problem(
                        self.file,
                        line,
                        f"dataflow {f.name!r}: its {what} {end.name!r} is not an element "
                        f"threatgraph can convert ({type(end).__name__})",
                        what,
                    )
                )
            ends.append(eid.get(id(end)))
        if None in ends:
            return None
        c = f.controls
        response = bool(f.isResponse or f.responseTo is not None)
        receiver = f.source if response else f.sink
        receiver_ctl = getattr(receiver, "controls", None)
        tls = f.tlsVersion
        encrypted = bool(
            c.isEncrypted
            or tls > TLSVersion.NONE
            or (receiver_ctl is not None and receiver_ctl.isEncrypted)
        )
        controls = pytm_map.controls_for_flags(
            {k: v for k, v in c.model_dump().items() if k != "isEncrypted"}
        )
        if encrypted and (tls == TLSVersion.NONE or tls >= TLSVersion.TLSv12):
            controls.insert(0, "crypto.tls")
        for extra in o.get("controls", []) or []:
            if extra not in controls:
                controls.append(extra)
        authenticated = bool(
            c.authenticatesSource or (receiver_ctl is not None and receiver_ctl.authenticatesSource)
        )
        # pytm's authenticatesSource: the requester proves who it is, with its own credential:
        # a person's sign-in for an Actor, the program's identity for anything else.
        requester = f.sink if response else f.source
        whose = "user" if isinstance(requester, pytm.Actor) else "service"
        rec: dict[str, Any] = {
            "name": f.name,
            "from": ends[0],
            "to": ends[1],
            "data": self.ordered(f.data, did),
            "protocol": f.protocol.lower() if f.protocol else None,
            "encrypted": True if encrypted else None,
            "authenticated": whose if authenticated else None,
            "controls": controls,
            "description": f.note or f.description or None,
            "location": self.loc(f),
        }
        rec.update({k: v for k, v in o.items() if k != "controls"})
        return self.validated(Flow, rec, f)  # type: ignore[no-any-return]


def _pytm_class(obj: Any) -> str:
    """The nearest pytm class of an object (user subclasses map through their pytm base)."""
    for cls in type(obj).__mro__:
        if cls.__module__.split(".")[0] == "pytm" and cls.__name__ in pytm_map.KIND_OF_CLASS:
            return cls.__name__
    return "Element"


def _kind_of(obj: Any) -> Kind:
    return pytm_map.KIND_OF_CLASS[_pytm_class(obj)]


def _classification(d: Any) -> Classification:
    if d.isCredentials:
        return Classification.SECRET
    if d.isPII:
        return Classification.PII
    return pytm_map.CLASSIFICATION_OF.get(d.classification.name, Classification.INTERNAL)


__all__ = ["LOCK", "PytmSource", "load", "looks_like_model", "pytm_state"]
