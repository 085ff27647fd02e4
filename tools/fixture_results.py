#!/usr/bin/env python3
"""Print what a rule finds on its fixtures, in the expected.yaml format.

A help for rule authors: run it, read the output against what the rule *should* report, and
write expected.yaml by hand. Tests never use it to produce expectations (an expectation
copied from the engine's output cannot catch the engine being wrong). Usage::

    python tools/fixture_results.py TG-AG-001 [TG-PI-002 ...]
    python tools/fixture_results.py --all [--diff]
    python tools/fixture_results.py --rules my-rules ACME-LLM-001

With several rules, each block starts with a comment naming the rule's expected.yaml.
``--diff`` prints only the fixtures whose findings differ from their expected.yaml.
Exit codes: 0 done, 1 (with --diff) some fixture differs, 2 unknown rule or bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from threatgraph.engine.library import Library, LoadedRule, load_library
from threatgraph.features.expected import EXPECTED_FILE, Tally, differences, render, tally
from threatgraph.features.lint import fixture_findings, rule_expectations
from threatgraph.util.errors import InputError


def results(lr: LoadedRule, lib: Library) -> dict[str, Tally]:
    """Fixture file name -> the rule's findings on it."""
    return {p.name: tally(fixture_findings(lr, p, lib)) for p in [*lr.positives, *lr.negatives]}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rule_ids", nargs="*", metavar="RULE-ID")
    ap.add_argument("--all", action="store_true", help="every rule of the library")
    ap.add_argument("--rules", action="append", default=[], metavar="DIR", help="custom rules")
    ap.add_argument("--diff", action="store_true", help="only fixtures that differ")
    args = ap.parse_args(argv)
    if bool(args.all) == bool(args.rule_ids):
        ap.error("give rule ids or --all")
    try:
        lib = load_library(args.rules)
        if args.all:
            chosen = list(lib.rules)
        else:
            known = {lr.rule.id: lr for lr in lib.rules}
            unknown = [r for r in args.rule_ids if r not in known]
            if unknown:
                print(f"error: unknown rule(s): {', '.join(unknown)}", file=sys.stderr)
                return 2
            chosen = [known[r] for r in args.rule_ids]
        differ = printed = False
        for lr in chosen:
            got = results(lr, lib)
            if args.diff:
                exp, _ = rule_expectations(lr)
                got = {
                    name: t
                    for name, t in got.items()
                    if exp is None or name not in exp.fixtures or differences(exp.tally(name), t)
                }
                if not got:
                    continue
                differ = True
            if len(chosen) > 1:
                print(
                    ("\n" if printed else "") + f"# {lr.rule.id}: {lr.path.parent / EXPECTED_FILE}"
                )
            sys.stdout.write(render(got))
            printed = True
    except InputError as exc:
        for p in exc.problems:
            print(f"error: {p}", file=sys.stderr)
        return 2
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
