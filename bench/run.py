"""Benchmarks: print figures, never assert them.

    make bench                      # the full table (N = 100 ... 10,000), pytm at 500 and 2,000
    python bench/run.py --sizes 500 2000 --no-pytm

Each measurement runs in a fresh subprocess so that peak memory (ru_maxrss) belongs to that
measurement alone. Columns: N requested, elements and flows generated, findings, and wall
seconds for load (read + validate), graph, match (engine + policy), report (every format
except rendered images: md, html, json, sarif, csv, dot, mermaid; no Graphviz layout, so the
HTML carries the DOT source), DOT alone, then peak RSS.
The pytm columns run pytm's own library on the same estate expressed as a pytm model:
check + resolve + JSON, the way its CLI writes `--json FILE` (json.dump into the file); a
last column shows the speed-up with json.dumps in memory (faster) as pytm's JSON step.
The pytm-file table times whole `threatgraph check -q tm.py` processes on the estates
written as pytm model files, beside a process that only runs the same file (pytm building
its model, nothing else).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: Where the estates are written, once per run of the benchmark (set by main).
_ESTATES: Path | None = None


def _estate(n: int, fmt: str, seed: int) -> Path:
    """The estate of n elements as a model file in ``fmt``, generated and written once.

    Generated here, in the parent, rather than in each measured process: a child that
    generated its own estate held the generated document and the generator's leftovers in
    memory while it was timed, which a real `threatgraph check` never does, and on the
    largest estates that slowed matching by a few percent.
    """
    import generate

    assert _ESTATES is not None
    name = f"estate-{n}-{seed}-pytm.py" if fmt == "pytm" else f"estate-{n}-{seed}.{fmt}"
    path = _ESTATES / name
    if not path.exists():
        _write_estate(generate.estate(n, seed), path, fmt)
    return path


def _write_estate(doc: dict[str, Any], path: Path, fmt: str) -> Path:
    """Write a generated estate as a model file in ``fmt`` (json, py, pytm or yaml)."""
    import generate

    if fmt == "pytm":
        path.write_text(generate.to_pytm(doc))
    elif fmt == "json":
        path.write_text(json.dumps(doc, indent=1))
    elif fmt == "py":
        path.write_text(generate.to_python(doc))
    else:
        import yaml

        path.write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
    return path


def measure_threatgraph(n: int, fmt: str, path: Path) -> dict[str, Any]:
    """Time each stage of threatgraph on the estate of n elements in ``path``."""
    import gc
    from datetime import date

    from threatgraph import graph as graph_mod
    from threatgraph.engine.evaluate import evaluate
    from threatgraph.engine.library import load_library
    from threatgraph.load.registry import load_paths
    from threatgraph.policy import decide, gate

    gc.disable()  # as pipeline.run does while it analyses, for every CLI run
    with tempfile.TemporaryDirectory() as tmp:
        day = date(2026, 6, 1)
        t0 = time.perf_counter()
        lib = load_library()
        t1 = time.perf_counter()
        (lm,) = load_paths([path], lib.controls.keys())
        t2 = time.perf_counter()
        g = graph_mod.build(lm.model)
        t3 = time.perf_counter()
        findings = evaluate(g, lib, day)
        decide(findings, lm.model.decisions, day, strict=False)
        gate(findings, "high")
        t4 = time.perf_counter()
        if n <= int(os.environ.get("TG_BENCH_REPORT_MAX", "5000")):
            report_s, json_s, dot_s = _time_reports(lm, g, findings, lib, day, Path(tmp) / "out")
        else:  # report timings are targets at N <= 2,000; above that they only cost minutes
            report_s = json_s = dot_s = None
        gc.enable()
    return {
        "n": n,
        "format": fmt,
        "elements": len(lm.model.elements),
        "flows": len(lm.model.flows),
        "findings": len(findings),
        "library": t1 - t0,
        "load": t2 - t1,
        "graph": t3 - t2,
        "match": t4 - t3,
        "report": report_s,
        "json": json_s,
        "dot": dot_s,
        "peak_mb": _peak_mb(),
        "rules": len(lib.active),
    }


def _time_reports(
    lm: Any, g: Any, findings: Any, lib: Any, day: Any, out: Path
) -> tuple[float, float, float]:
    """Seconds for every report format except images, for findings.json alone, and for
    building the DOT text alone."""
    from threatgraph.formats import dot as dot_mod
    from threatgraph.formats import jsonout, render
    from threatgraph.formats.reportset import build_reports
    from threatgraph.formats.view import ModelView
    from threatgraph.policy import Verdict, gate
    from threatgraph.results import ModelResult, Run
    from threatgraph.util.writer import write_atomic

    result = ModelResult(lm, g, findings)
    run = Run(lib, [result], Verdict("high", gate(findings, "high")), day)
    formats = ["markdown", "html", "json", "sarif", "csv", "dot", "mermaid"]
    # "Except rendered images": no Graphviz layout, so report.html carries the DOT source
    # instead of an inline SVG (the layout engine's time is not threatgraph's).
    render.find_renderer = lambda *a, **k: None
    # findings.json first, right after matching, as `check --format json -o FILE` writes
    # it: the figure compared with pytm's check + resolve + JSON.
    # `check --format json -o FILE` writes it before it restores the collector (commands/
    # check.py); `report` writes every format with the collector running.
    import gc

    t0 = time.perf_counter()
    write_atomic(out / "findings.json", jsonout.render_document(run.results, run))
    t1 = time.perf_counter()
    gc.enable()
    build_reports(run, out / "all", formats)
    t2 = time.perf_counter()
    view = ModelView.build(g, findings, lib, day, "high", str(lm.path))
    dot_mod.render_dot(view)
    t3 = time.perf_counter()
    return t2 - t1, t1 - t0, t3 - t2


def measure_pytm(n: int, path: Path) -> dict[str, Any]:
    """pytm on the same estate: build the TM, then check + resolve + JSON."""
    from pytm import (
        LLM,
        TM,
        Actor,
        Agent,
        Boundary,
        Classification,
        Data,
        Dataflow,
        Datastore,
        ExternalEntity,
        Process,
        Server,
    )
    from pytm.pytm import to_serializable

    doc = json.loads(path.read_text())  # the estate threatgraph reads, as plain data
    t0 = time.perf_counter()
    TM.reset()
    # pytm reads its threat library when the TM is made: that is the counterpart of
    # threatgraph's library load, which the threatgraph figures include.
    tm = TM(f"estate {n}", description="Synthetic estate for the benchmark")
    t_lib = time.perf_counter() - t0
    bounds: dict[str, Any] = {}
    for b in doc["boundaries"]:
        bounds[b["id"]] = Boundary(b["name"])
    for b in doc["boundaries"]:
        if b.get("parent"):
            bounds[b["id"]].inBoundary = bounds[b["parent"]]
    classes = {
        "public": Classification.PUBLIC,
        "internal": Classification.RESTRICTED,
        "confidential": Classification.SECRET,
        "pii": Classification.SENSITIVE,
        "phi": Classification.SENSITIVE,
        "secret": Classification.TOP_SECRET,
        "model_weights": Classification.SECRET,
        "training_data": Classification.RESTRICTED,
    }
    data = {
        d["id"]: Data(d["name"], classification=classes[d["classification"]]) for d in doc["data"]
    }
    ctor = {
        "actor": Actor,
        "app": Server,
        "process": Process,
        "llm": LLM,
        "agent": Agent,
        "external_content": ExternalEntity,
        "vendor": ExternalEntity,
    }
    elements: dict[str, Any] = {}
    for e in doc["elements"]:
        cls = ctor.get(
            e["kind"],
            Datastore
            if e["kind"]
            in ("datastore", "vector_store", "memory", "feature_store", "model_registry", "dataset")
            else Process,
        )
        el = cls(e["name"])
        if e.get("boundary"):
            el.inBoundary = bounds[e["boundary"]]
        elements[e["id"]] = el
    for i, f in enumerate(doc["flows"]):
        df = Dataflow(elements[f["from"]], elements[f["to"]], f"{f['name']} {i}")
        df.protocol = f.get("protocol", "")
        if f.get("data"):
            df.data = data[f["data"][0]]
        df.isEncrypted = f.get("protocol") == "https"
    t1 = time.perf_counter()
    tm.check()
    tm.resolve()
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        # What pytm's CLI does for `--json FILE` (TM._process in pytm/tm.py): json.dump of
        # the TM into the file. json.dump streams through the pure-Python encoder.
        out = Path(tmp) / "result.json"
        with open(out, "w", encoding="utf8") as fh:
            json.dump(tm, fh, default=to_serializable)
        t3 = time.perf_counter()
        size = out.stat().st_size
    # The same document through json.dumps (the C encoder, in memory): a faster JSON step
    # than pytm's own, for a speed-up that leans in pytm's favour.
    t4 = time.perf_counter()
    json.dumps(tm, default=to_serializable)
    t5 = time.perf_counter()
    return {
        "n": n,
        "library": t_lib,
        "build": t1 - t0,
        "resolve": t2 - t1,
        "json": t3 - t2,
        "json_dumps": t5 - t4,
        "findings": len(tm.findings),
        "json_bytes": size,
        "peak_mb": _peak_mb(),
    }


def _median(kind: str, n: int, fmt: str, seed: int, repeat: int) -> dict[str, Any]:
    """Each figure's median over ``repeat`` fresh processes (a shared machine is noisy)."""
    import statistics

    path = _estate(n, "json" if kind == "pytm" else fmt, seed)
    runs = [_child(kind, n, fmt, path) for _ in range(max(1, repeat))]
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):
            out[key] = statistics.median(r[key] for r in runs)
    return out


def _child(kind: str, n: int, fmt: str, path: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(n), fmt, str(path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _hook_latency() -> float:
    """Wall time of `threatgraph check` on the largest example model, interpreter included."""
    models = sorted((ROOT / "models").glob("*.py"), key=lambda p: p.stat().st_size)
    if not models:
        return float("nan")
    exe = [sys.executable, "-m", "threatgraph", "check", "-q", str(models[-1])]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(exe, capture_output=True, check=False, env=env)
        best = min(best, time.perf_counter() - t)
    return best


def _runs(
    n: int, fmt: str, seed: int, repeat: int = 3, cmd: list[str] | None = None
) -> list[tuple[float, float, float]]:
    """(wall s, CPU s, peak MB) of ``repeat`` whole processes of ``cmd`` (by default
    ``threatgraph check -q``) on the estate of n elements in ``fmt``."""
    path = _estate(n, fmt, seed)
    if cmd is None:
        cmd = [sys.executable, "-m", "threatgraph", "check", "-q", "--as-of", "2026-06-01"]
    # A wrapper process per run, so that its children's peak memory is this run's alone.
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, check=False)\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss / 1024, "
        "r.returncode)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out: list[tuple[float, float, float]] = []
    for _ in range(repeat):
        res = subprocess.run(
            [sys.executable, "-c", probe, *cmd, str(path)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        wall, cpu, mb, rc = (float(x) for x in res.stdout.split())
        if rc not in (0, 1):  # a failed run (an input error, a time limit) is no figure
            raise SystemExit(f"benchmark command exited {rc:g}: {' '.join(cmd)} {path}")
        out.append((wall, cpu, mb))
    return out


def _command(n: int, fmt: str, seed: int, repeat: int = 3) -> tuple[float, float]:
    """Best wall time and peak memory (MB) of a whole ``threatgraph check`` process on an
    estate of n elements: interpreter start, library, load, match and the text report."""
    runs = _runs(n, fmt, seed, repeat)
    return min(r[0] for r in runs), max(r[2] for r in runs)


#: Runs a pytm file as a module that is not __main__: pytm builds the model and nothing else.
_PYTM_BUILD = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='bench')"


def pytm_files(sizes: list[int], seed: int, repeat: int = 3) -> None:
    """Whole `threatgraph check -q tm.py` processes on the estates as pytm model files,
    and processes that only run the same files (pytm building its model)."""
    import generate

    print(
        "\npytm model files (the estates written as tm.py): whole `threatgraph check -q tm.py` "
        "command, and a process that only runs the file (pytm builds its model); best of "
        f"{repeat}. CPU s (user + system) is less disturbed than wall s by other jobs on the "
        "machine."
    )
    print(
        "| N | elements | flows | check tm.py wall s | check tm.py CPU s | CPU s per 1,000 "
        "elements | peak MB | pytm builds the model, CPU s | check / pytm build |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        doc = generate.estate(n, seed)
        runs = _runs(n, "pytm", seed, repeat)
        wall, cpu, mb = min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)
        build_runs = _runs(n, "pytm", seed, repeat, cmd=[sys.executable, "-c", _PYTM_BUILD])
        build = min(r[1] for r in build_runs)
        per = cpu / len(doc["elements"]) * 1000
        print(
            f"| {n} | {len(doc['elements'])} | {len(doc['flows'])} | {wall:.2f} | {cpu:.2f} | "
            f"{per:.3f} | {mb:.0f} | {build:.2f} | {cpu / build:.1f}x |"
        )


def fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main() -> None:
    """Run the benchmarks and print the tables."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000, 2000, 5000, 10000])
    ap.add_argument("--pytm-sizes", type=int, nargs="+", default=[500, 2000])
    ap.add_argument(
        "--format",
        default="json",
        choices=["json", "yaml", "py"],
        help="Model file format the estates are written in (default json).",
    )
    ap.add_argument("--no-pytm", action="store_true")
    ap.add_argument(
        "--pytm-file-sizes",
        type=int,
        nargs="*",
        default=[1000, 2000, 5000, 10000],
        help="N of the estates checked as pytm model files (none: skip that table).",
    )
    ap.add_argument(
        "--no-command",
        action="store_true",
        help="Skip timing whole `threatgraph check` processes at N=1,000 and 10,000.",
    )
    ap.add_argument(
        "--report-max",
        type=int,
        default=5000,
        help="Time the report formats only up to this N (default 5000).",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="Fresh processes per measurement; each figure is their median (default 3).",
    )
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)  # kind, n, format, estate path
    args = ap.parse_args()
    if args.child:
        kind, n, fmt, where = args.child
        res = (
            measure_pytm(int(n), Path(where))
            if kind == "pytm"
            else measure_threatgraph(int(n), fmt, Path(where))
        )
        print(json.dumps(res))
        return
    # Children read it from the environment (their own --report-max is the default).
    os.environ["TG_BENCH_REPORT_MAX"] = str(args.report_max)
    global _ESTATES
    estates = tempfile.TemporaryDirectory(prefix="threatgraph-bench-")  # removed at exit
    _ESTATES = Path(estates.name)
    # Time the package as an installed one runs: from bytecode. pip compiles a wheel's
    # modules when it installs them, but an editable install under
    # PYTHONDONTWRITEBYTECODE=1 (set on some CI machines) would recompile every module in
    # every process. pytm's modules were compiled when pip installed it.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)

    print(
        f"whole-process check on the largest example model (best of 5): {_hook_latency():.3f} s\n"
    )
    rows = [_median("tg", n, args.format, args.seed, args.repeat) for n in args.sizes]
    print(
        f"threatgraph, {rows[0]['rules']} rules, models as {args.format}; "
        f"each figure the median of {args.repeat} fresh processes"
    )
    head = (
        "N",
        "elements",
        "flows",
        "findings",
        "load s",
        "graph s",
        "match s",
        "check s",
        "report s",
        "dot s",
        "peak MB",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        check = r["library"] + r["load"] + r["graph"] + r["match"]
        print(
            f"| {r['n']} | {r['elements']} | {r['flows']} | {r['findings']} | "
            f"{fmt_s(r['load'])} | {fmt_s(r['graph'])} | {fmt_s(r['match'])} | "
            f"{fmt_s(check)} | {fmt_s(r['report'])} | {fmt_s(r['dot'])} | "
            f"{r['peak_mb']:.0f} |"
        )
    by_n = {r["n"]: r for r in rows}
    if 1000 in by_n and 10000 in by_n:

        def total(r: dict[str, Any]) -> float:
            return float(r["load"] + r["graph"] + r["match"])

        print(
            f"\ngrowth N=1,000 -> 10,000 (load+graph+match, in process): "
            f"{total(by_n[10000]) / total(by_n[1000]):.1f}x"
        )
    if not args.no_command:
        print("\nwhole `threatgraph check -q` command, interpreter start included (best of 3):")
        print("| N | wall s | peak MB |")
        print("|---|---|---|")
        walls = {}
        for n in sorted({1000, 10000} & set(args.sizes)):
            wall, mb = _command(n, args.format, args.seed)
            walls[n] = wall
            print(f"| {n} | {wall:.3f} | {mb:.0f} |")
        if len(walls) == 2:
            print(f"\ngrowth N=1,000 -> 10,000 (whole command): {walls[10000] / walls[1000]:.1f}x")
    if args.no_pytm:
        return
    if args.pytm_file_sizes:
        pytm_files(args.pytm_file_sizes, args.seed, args.repeat)
    print("\npytm 1.4 on the same estates: loading its threat library, check + resolve, JSON")
    print(
        "(pytm's JSON is its CLI's --json: json.dump into a file. threatgraph: library + "
        "load + graph + match + findings.json, and with every report format. "
        "threatgraph's figure includes reading and validating the model file; pytm's "
        "'total' leaves out building its model objects, shown apart as 'pytm model s', and "
        "the 'model built on both sides' speed-up counts them. The last column puts "
        "json.dumps in memory (the C encoder, faster than pytm's own path) in place of "
        "pytm's JSON step)"
    )
    print(
        "| N | pytm findings | pytm library s | pytm check+resolve s | pytm JSON s | "
        "pytm total s | threatgraph check+JSON s | speed-up | threatgraph all formats s | "
        "speed-up | pytm model s | speed-up, model built on both sides | "
        "pytm json.dumps s | speed-up, pytm's JSON as json.dumps |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.pytm_sizes:
        p = _median("pytm", n, args.format, args.seed, args.repeat)
        t = by_n.get(n) or _median("tg", n, args.format, args.seed, args.repeat)
        check = t["library"] + t["load"] + t["graph"] + t["match"]
        ours, ours_all = check + (t["json"] or 0), check + (t["report"] or 0)
        theirs = p["library"] + p["resolve"] + p["json"]
        model = p["build"] - p["library"]  # making the TM and its elements and flows
        print(
            f"| {n} | {p['findings']} | {p['library']:.3f} | {p['resolve']:.3f} | "
            f"{p['json']:.3f} | {theirs:.3f} | {ours:.3f} | {theirs / ours:.1f}x | "
            f"{ours_all:.3f} | {theirs / ours_all:.1f}x | {model:.3f} | "
            f"{(theirs + model) / ours:.1f}x | {p['json_dumps']:.3f} | "
            f"{(p['library'] + p['resolve'] + p['json_dumps']) / ours:.1f}x |"
        )


if __name__ == "__main__":
    main()
